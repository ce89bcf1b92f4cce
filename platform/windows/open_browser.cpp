// launch_browser on Windows: each $BROWSER candidate (separated by ';') in turn with
// CreateProcessW when it is set, else ShellExecuteW, which opens the URL in the user's default
// browser.
#include <windows.h>
// after windows.h, which it needs
#include <shellapi.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "sign_in/browser_command.hpp"
#include "sign_in/launch_browser.hpp"

namespace freshtoken::detail {

namespace {

std::wstring widen(const std::string& text) {
  if (text.empty()) return {};
  int length =
      MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), nullptr, 0);
  std::wstring out(static_cast<std::size_t>(length), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), out.data(), length);
  return out;
}

// One argument on a command line, quoted the way CommandLineToArgvW reads it back.
std::wstring quoted(const std::wstring& argument) {
  std::wstring out = L"\"";
  std::size_t backslashes = 0;
  for (wchar_t c : argument) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    // Backslashes before a quote are doubled, and the quote escaped.
    out.append(c == L'"' ? backslashes * 2 + 1 : backslashes, L'\\');
    backslashes = 0;
    out += c;
  }
  out.append(backslashes * 2, L'\\');  // before the closing quote
  out += L'"';
  return out;
}

// Starts `command` without waiting for it; 0 or GetLastError() of the failure.
DWORD spawn(const BrowserCommand& command) {
  std::wstring command_line;
  for (const auto& argument : command) {
    if (!command_line.empty()) command_line += L' ';
    command_line += quoted(widen(argument));
  }
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION process{};
  // No inherited handles: the browser must not read our stdin or write into our stdout.
  if (!CreateProcessW(nullptr, command_line.data(), nullptr, nullptr, FALSE, CREATE_NO_WINDOW,
                      nullptr, nullptr, &startup, &process)) {
    return GetLastError();
  }
  CloseHandle(process.hThread);
  CloseHandle(process.hProcess);
  return 0;
}

}  // namespace

Result<void> launch_browser(const std::string& url) {
  const char* from_env = std::getenv("BROWSER");
  const std::vector<BrowserCommand> candidates =
      parse_browser_commands(from_env ? from_env : "", url, ';');
  if (candidates.empty()) {
    const std::wstring wide_url = widen(url);
    auto result = reinterpret_cast<INT_PTR>(
        ShellExecuteW(nullptr, L"open", wide_url.c_str(), nullptr, nullptr, SW_SHOWNORMAL));
    if (result <= 32) {
      return Error(ErrorCode::config, "cannot open the default browser (ShellExecute error " +
                                          std::to_string(static_cast<long long>(result)) + ")");
    }
    return {};
  }
  // Only program names go into the message: the arguments hold the URL, and with it `state`.
  std::string failures;
  for (const auto& command : candidates) {
    const DWORD error = spawn(command);
    if (error == 0) return {};
    failures +=
        (failures.empty() ? "'" : ", '") + command.front() + "': error " + std::to_string(error);
  }
  return Error(ErrorCode::config, "cannot start the browser (" + failures + ")");
}

}  // namespace freshtoken::detail
