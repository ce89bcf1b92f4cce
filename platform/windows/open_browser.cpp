// launch_browser on Windows: $BROWSER with CreateProcessW when it is set, else ShellExecuteW,
// which opens the URL in the user's default browser.
#include <windows.h>
// after windows.h, which it needs
#include <shellapi.h>

#include <cstdlib>
#include <string>

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

}  // namespace

Result<void> launch_browser(const std::string& url) {
  const std::wstring wide_url = widen(url);
  const char* from_env = std::getenv("BROWSER");
  if (from_env == nullptr || *from_env == '\0') {
    auto result = reinterpret_cast<INT_PTR>(
        ShellExecuteW(nullptr, L"open", wide_url.c_str(), nullptr, nullptr, SW_SHOWNORMAL));
    if (result <= 32) {
      return Error(ErrorCode::config, "cannot open the default browser (ShellExecute error " +
                                          std::to_string(static_cast<long long>(result)) + ")");
    }
    return {};
  }
  const std::string program = from_env;
  std::wstring command_line = quoted(widen(program)) + L" " + quoted(wide_url);
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION process{};
  // No inherited handles: the browser must not read our stdin or write into our stdout.
  if (!CreateProcessW(nullptr, command_line.data(), nullptr, nullptr, FALSE, CREATE_NO_WINDOW,
                      nullptr, nullptr, &startup, &process)) {
    return Error(ErrorCode::config, "cannot start the browser '" + program + "' (error " +
                                        std::to_string(GetLastError()) + ")");
  }
  CloseHandle(process.hThread);
  CloseHandle(process.hProcess);
  return {};
}

}  // namespace freshtoken::detail
