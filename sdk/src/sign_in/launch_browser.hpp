// Starting the user's browser (internal; the public entry point is open_system_browser(), which
// checks the URL first). One implementation per platform, in platform/<os>/open_browser.cpp:
// $BROWSER when it is set (so that tests and scripts stay headless), else the desktop's own way
// to open a URL (xdg-open; ShellExecuteW on Windows). The program gets the URL as its single
// argument, no shell in between; this returns once it started and does not wait for it.
#pragma once

#include <string>

#include "freshtoken/error.hpp"

namespace freshtoken::detail {

// Errors: config when the browser cannot be started.
Result<void> launch_browser(const std::string& url);

}  // namespace freshtoken::detail
