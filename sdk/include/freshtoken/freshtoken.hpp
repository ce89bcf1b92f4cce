/// @file
/// The whole public API of the freshtoken SDK in one include. The secret stores and
/// DesktopClient (the common case in a few lines, on the default store) live in the platform
/// library: freshtoken/platform/secret_stores.hpp, freshtoken/platform/desktop_client.hpp.
#pragma once

#include "freshtoken/authorization_server.hpp"
#include "freshtoken/clock.hpp"
#include "freshtoken/error.hpp"
#include "freshtoken/http.hpp"
#include "freshtoken/http_client.hpp"
#include "freshtoken/logging.hpp"
#include "freshtoken/secret.hpp"
#include "freshtoken/secret_store.hpp"
#include "freshtoken/session.hpp"
#include "freshtoken/sign_in.hpp"
#include "freshtoken/token_set.hpp"
#include "freshtoken/token_source.hpp"
#include "freshtoken/transport.hpp"
#include "freshtoken/version.hpp"
