// Text from a server (a device code, a verification URL, an error description, a name claim)
// on its way to a terminal. A hostile or broken server can put escape sequences there that
// would move the cursor, rewrite earlier lines, set the window title or the clipboard.
#pragma once

#include <string>
#include <string_view>

namespace freshtoken::cli {

// `text` with every control character written out so that a terminal shows it instead of
// acting on it: C0 controls (including ESC, BEL, CR, LF, TAB) and DEL as \xNN, C1 controls
// (U+0080-U+009F) as \uNNNN, bytes that are not well-formed UTF-8 as \xNN, and a backslash as
// \\ so that what the server sent can be told from an escape. Other UTF-8 is kept.
std::string escape_controls(std::string_view text);

}  // namespace freshtoken::cli
