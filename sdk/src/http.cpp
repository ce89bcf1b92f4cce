#include "freshtoken/http.hpp"

#include <algorithm>

#include "util/crypto.hpp"

namespace freshtoken {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

Headers::Headers(std::initializer_list<Field> fields) : fields_(fields) {}

void Headers::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

void Headers::remove(std::string_view name) {
  auto kept = fields_.begin();
  for (auto it = fields_.begin(); it != fields_.end(); ++it) {
    if (iequals(it->first, name)) {
      util::wipe(it->second);
    } else {
      if (kept != it) *kept = std::move(*it);
      ++kept;
    }
  }
  fields_.erase(kept, fields_.end());
}

bool Headers::contains(std::string_view name) const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [&](const Field& f) { return iequals(f.first, name); });
}

std::optional<std::string> Headers::get(std::string_view name) const {
  for (const auto& f : fields_)
    if (iequals(f.first, name)) return f.second;
  return std::nullopt;
}

std::vector<std::string> Headers::get_all(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& f : fields_)
    if (iequals(f.first, name)) values.push_back(f.second);
  return values;
}

}  // namespace freshtoken
