/// @file
/// The logging hook: the application plugs its logger in as a callback.
///
/// The SDK never passes a secret to the sink: tokens, codes and client secrets appear only as
/// Secret fingerprints. The sink may be called from any thread, including the SDK's
/// background refresh thread, and must not call back into the SDK.
#pragma once

#include <functional>
#include <string_view>

#include "freshtoken/export.hpp"

namespace freshtoken {

/// How much a log line matters.
enum class LogLevel { debug, info, warning, error };

/// The level's name, e.g. "warning".
FRESHTOKEN_API std::string_view to_string(LogLevel level);

/// Receives the SDK's log lines; never a secret, only fingerprints. See logging.hpp.
using LogSink = std::function<void(LogLevel level, std::string_view message)>;

}  // namespace freshtoken
