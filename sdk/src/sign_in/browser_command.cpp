#include "sign_in/browser_command.hpp"

#include <utility>

namespace freshtoken::detail {

namespace {

// `argument` with %s replaced by `url` and %% by %; sets `used_url` when a %s was seen.
std::string substituted(const std::string& argument, const std::string& url, bool& used_url) {
  std::string out;
  for (std::size_t i = 0; i < argument.size(); ++i) {
    if (argument[i] == '%' && i + 1 < argument.size()) {
      if (argument[i + 1] == 's') {
        out += url;
        used_url = true;
        ++i;
        continue;
      }
      if (argument[i + 1] == '%') {
        out += '%';
        ++i;
        continue;
      }
    }
    out += argument[i];
  }
  return out;
}

}  // namespace

std::vector<BrowserCommand> parse_browser_commands(std::string_view browser, const std::string& url,
                                                   char separator) {
  std::vector<BrowserCommand> commands;
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  bool quoted = false;
  auto end_word = [&] {
    if (in_word) words.push_back(std::move(word));
    word.clear();
    in_word = false;
  };
  auto end_candidate = [&] {
    end_word();
    if (!words.empty() && !words.front().empty()) {
      bool used_url = false;
      for (std::size_t i = 1; i < words.size(); ++i)
        words[i] = substituted(words[i], url, used_url);
      if (!used_url) words.push_back(url);
      commands.push_back(std::move(words));
    }
    words.clear();
  };
  for (char c : browser) {
    if (c == '"') {
      quoted = !quoted;
      in_word = true;  // "" is an empty argument
    } else if (quoted) {
      word += c;
    } else if (c == separator) {
      end_candidate();
    } else if (c == ' ' || c == '\t') {
      end_word();
    } else {
      word += c;
      in_word = true;
    }
  }
  end_candidate();
  return commands;
}

}  // namespace freshtoken::detail
