/// @file
/// The secret-store backends that ship with freshtoken.
///
/// Each returns a SecretStore (see freshtoken/secret_store.hpp for the contract every backend
/// passes: not_found / storage_unavailable / storage). The SDK never picks a plaintext store on
/// its own: a file store exists only when the application asks for one by name.
///
/// Thread safety: every store returned here may be shared by many threads.
///
/// default_secret_store() is the one switch: make_libsecret_store() on Linux,
/// make_credential_manager_store() on Windows. The plan for macOS is in docs/secret-stores.md.
#pragma once

#include <filesystem>
#include <memory>

#include "freshtoken/platform/export.hpp"
#include "freshtoken/secret_store.hpp"

namespace freshtoken {

/// Secrets kept in this process's memory only: for tests, and for applications that want
/// nothing persisted.
FRESHTOKEN_PLATFORM_API std::shared_ptr<SecretStore> make_memory_store();

#if defined(_WIN32)
/// Windows Credential Manager, generic credentials of this user (CRED_PERSIST_LOCAL_MACHINE:
/// they stay on this machine, never roam). The credential "freshtoken:<service>/<account>"
/// (each part percent-encoded, so that Credential Manager's case-insensitive names never let two
/// pairs collide) holds the value when it fits one credential (2,555 bytes); a larger value is
/// written as chunk credentials "<name>#<generation>.<n>" first, and the head credential, which
/// names the generation and carries the value's size and SHA-256, is replaced last, so a reader
/// sees the old value or the new one and a crash keeps the old one. Loads check the digest and
/// read again when a save raced them; saves and erases of one entry are serialised across
/// processes by a named mutex. No logon session (a service account without a loaded profile):
/// storage_unavailable.
FRESHTOKEN_PLATFORM_API std::shared_ptr<SecretStore> make_credential_manager_store();
#else
/// The Secret Service (GNOME Keyring, KWallet's Secret Service bridge, KeePassXC, ...) over
/// D-Bus, through libsecret. Items use the schema "org.freshtoken.Secret" with the attributes
/// "service" and "account" and go into the default collection. It never shows a prompt:
/// whatever would need one (a locked collection, creating the first keyring) fails with
/// storage_unavailable. Also storage_unavailable: no D-Bus session bus, no Secret Service
/// provider on it. A load from a locked collection is storage_unavailable, never not_found.
/// Calls are synchronous D-Bus round trips (milliseconds): keep them off latency-critical
/// paths.
FRESHTOKEN_PLATFORM_API std::shared_ptr<SecretStore> make_libsecret_store();
#endif

/// One file per (service, account) in `directory` (created 0700 if missing), each file 0600,
/// replaced atomically (temporary file, fsync, rename, fsync of the directory), so a crash
/// leaves the old or the new value. A temporary file that a crash left behind holds the secret
/// too: the entry's next save() and its erase() remove it (only "<entry file>.tmp.<16 hex>"
/// files of that entry, never one a live save holds). The secret is NOT encrypted: the file's
/// protection is its mode and ownership; load() and save() refuse (ErrorCode::storage) a file or
/// directory that another user owns or that group/other may access. Use only where no keyring
/// exists (headless servers, CI), and only when the application asks for it explicitly.
FRESHTOKEN_PLATFORM_API std::shared_ptr<SecretStore> make_file_store(
    std::filesystem::path directory);

/// The operating system's own store: libsecret on Linux, Credential Manager on Windows. Never a
/// file store.
FRESHTOKEN_PLATFORM_API std::shared_ptr<SecretStore> default_secret_store();

}  // namespace freshtoken
