// Starting the user's browser (internal; the public entry point is open_system_browser(), which
// checks the URL first). One implementation per platform, in platform/<os>/open_browser.cpp:
// the $BROWSER candidates in order (so that tests and scripts stay headless; parsed by
// browser_command.hpp) when it names any, else the desktop's own way to open a URL (xdg-open;
// ShellExecuteW on Windows). No shell in between; this returns once one started and does not
// wait for it.
#pragma once

#include <string>

#include "freshtoken/error.hpp"

namespace freshtoken::detail {

// Errors: config when the browser cannot be started.
Result<void> launch_browser(const std::string& url);

}  // namespace freshtoken::detail
