// The BROWSER environment variable as the convention has it (the one xdg-utils, Python's
// webbrowser and most Unix tools follow): a list of candidate commands tried in order until one
// starts. Pure parsing here; platform/<os>/open_browser.cpp starts the commands.
//
// - Candidates are separated by `separator`: ':' on POSIX, ';' on Windows (where ':' follows
//   every drive letter). Empty candidates are skipped.
// - A candidate is a program and its arguments separated by spaces or tabs. No shell: no
//   variables, globbing, escapes or redirections. A stretch in double quotes is kept together
//   (spaces and separators included, quotes dropped), for programs under paths like
//   "C:\Program Files".
// - `%s` in an argument is replaced by the URL and `%%` by `%`; a candidate without `%s`
//   gets the URL appended as its last argument. The URL is always exactly one argument.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace freshtoken::detail {

// One way to start a browser: argv[0] is the program, the rest its arguments (URL included).
using BrowserCommand = std::vector<std::string>;

// The candidates of `browser` (a BROWSER value) for opening `url`, in the order to try them;
// empty when `browser` names none (empty, blank, only separators).
std::vector<BrowserCommand> parse_browser_commands(std::string_view browser, const std::string& url,
                                                   char separator);

}  // namespace freshtoken::detail
