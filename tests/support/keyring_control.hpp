// Locking and unlocking the default collection of the test gnome-keyring, for the tests that
// run in a keyring of their own (tests/integration/keyring/own-keyring.sh), headless.
//
// Locking uses the Secret Service API (secret_service_lock_sync). Unlocking through the
// Secret Service API (secret_service_unlock_sync) always asks gnome-keyring for a prompt,
// which needs a display; so unlock_default_collection() uses gnome-keyring's own D-Bus method
// org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword, sending
// the keyring password ("pass", set by own-keyring.sh) over a "plain" Secret Service session.
// Failures are GoogleTest failures in the calling test.
#pragma once

namespace freshtoken::testing {

void lock_default_collection();
void unlock_default_collection();
bool default_collection_is_locked();

}  // namespace freshtoken::testing
