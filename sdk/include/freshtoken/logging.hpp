// The logging hook: the application plugs its logger in as a callback.
//
// The SDK never passes a secret to the sink: tokens, codes and client secrets appear only as
// Secret fingerprints. The sink may be called from any thread, including the SDK's
// background refresh thread, and must not call back into the SDK.
#pragma once

#include <functional>
#include <string_view>

#include "freshtoken/export.hpp"

namespace freshtoken {

enum class LogLevel { debug, info, warning, error };

FRESHTOKEN_API std::string_view to_string(LogLevel level);

using LogSink = std::function<void(LogLevel level, std::string_view message)>;

}  // namespace freshtoken
