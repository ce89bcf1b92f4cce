// The libsecret store on a locked keyring: storage_unavailable (never not_found), and nothing
// erased. Runs under own-keyring.sh, in a gnome-keyring of its own, because it locks the
// default collection.
//
// Locking uses the Secret Service API (secret_service_lock_sync). Unlocking through the
// Secret Service API (secret_service_unlock_sync) always asks gnome-keyring for a prompt,
// which needs a display; headless, the test unlocks with gnome-keyring's own D-Bus method
// org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword, sending
// the keyring password ("pass", set by own-keyring.sh) over a "plain" Secret Service session.
#include <libsecret/secret.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "freshtoken/platform/secret_stores.hpp"

namespace freshtoken::testing {
namespace {

constexpr const char* kBus = "org.freedesktop.secrets";
constexpr const char* kRoot = "/org/freedesktop/secrets";

std::string default_collection_path(GDBusConnection* bus) {
  GError* error = nullptr;
  GVariant* reply =
      g_dbus_connection_call_sync(bus, kBus, kRoot, "org.freedesktop.Secret.Service", "ReadAlias",
                                  g_variant_new("(s)", "default"), G_VARIANT_TYPE("(o)"),
                                  G_DBUS_CALL_FLAGS_NONE, 5000, nullptr, &error);
  if (reply == nullptr) {
    ADD_FAILURE() << error->message;
    g_error_free(error);
    return {};
  }
  const gchar* path = nullptr;
  g_variant_get(reply, "(&o)", &path);
  std::string result = path;
  g_variant_unref(reply);
  return result;
}

void lock_default_collection() {
  GError* error = nullptr;
  SecretService* service = secret_service_get_sync(SECRET_SERVICE_NONE, nullptr, &error);
  ASSERT_NE(service, nullptr) << error->message;
  SecretCollection* collection =
      secret_collection_for_alias_sync(service, "default", SECRET_COLLECTION_NONE, nullptr, &error);
  ASSERT_NE(collection, nullptr) << (error ? error->message : "no default collection");
  GList* objects = g_list_append(nullptr, collection);
  gint count = secret_service_lock_sync(service, objects, nullptr, nullptr, &error);
  g_list_free(objects);
  g_object_unref(collection);
  g_object_unref(service);
  ASSERT_EQ(error, nullptr) << error->message;
  ASSERT_EQ(count, 1);
}

void unlock_default_collection() {
  GError* error = nullptr;
  GDBusConnection* bus = g_bus_get_sync(G_BUS_TYPE_SESSION, nullptr, &error);
  ASSERT_NE(bus, nullptr) << error->message;
  const std::string collection = default_collection_path(bus);
  ASSERT_FALSE(collection.empty());
  // A "plain" session: the password travels unencrypted over the private bus, which is fine
  // for the throwaway test keyring. The session belongs to this connection.
  GVariant* opened = g_dbus_connection_call_sync(
      bus, kBus, kRoot, "org.freedesktop.Secret.Service", "OpenSession",
      g_variant_new("(sv)", "plain", g_variant_new_string("")), G_VARIANT_TYPE("(vo)"),
      G_DBUS_CALL_FLAGS_NONE, 5000, nullptr, &error);
  ASSERT_NE(opened, nullptr) << error->message;
  GVariant* ignored = nullptr;
  const gchar* session = nullptr;
  g_variant_get(opened, "(v&o)", &ignored, &session);
  const char password[] = "pass";
  GVariant* master = g_variant_new(
      "(o@ay@ays)", session, g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "", 0, 1),
      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, password, std::strlen(password), 1),
      "text/plain");
  GVariant* reply = g_dbus_connection_call_sync(
      bus, kBus, kRoot, "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
      "UnlockWithMasterPassword", g_variant_new("(o@(oayays))", collection.c_str(), master),
      nullptr, G_DBUS_CALL_FLAGS_NONE, 5000, nullptr, &error);
  g_variant_unref(ignored);
  g_variant_unref(opened);
  ASSERT_NE(reply, nullptr) << error->message;
  g_variant_unref(reply);
  g_object_unref(bus);
}

bool default_collection_is_locked() {
  GError* error = nullptr;
  GDBusConnection* bus = g_bus_get_sync(G_BUS_TYPE_SESSION, nullptr, &error);
  const std::string collection = default_collection_path(bus);
  GVariant* reply = g_dbus_connection_call_sync(
      bus, kBus, collection.c_str(), "org.freedesktop.DBus.Properties", "Get",
      g_variant_new("(ss)", "org.freedesktop.Secret.Collection", "Locked"), G_VARIANT_TYPE("(v)"),
      G_DBUS_CALL_FLAGS_NONE, 5000, nullptr, &error);
  g_object_unref(bus);
  if (reply == nullptr) {
    ADD_FAILURE() << error->message;
    g_error_free(error);
    return false;
  }
  GVariant* value = nullptr;
  g_variant_get(reply, "(v)", &value);
  bool locked = g_variant_get_boolean(value);
  g_variant_unref(value);
  g_variant_unref(reply);
  return locked;
}

TEST(LockedKeyring, IsStorageUnavailableNotNotFoundAndNothingIsErased) {
  auto store = make_libsecret_store();
  const Secret token(std::string_view("refresh-token-kept-while-locked"));
  ASSERT_TRUE(store->save("freshtoken-locked-test", "alice", token));

  lock_default_collection();
  ASSERT_TRUE(default_collection_is_locked());

  auto loaded = store->load("freshtoken-locked-test", "alice");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), ErrorCode::storage_unavailable) << loaded.error().to_string();
  EXPECT_NE(loaded.error().message().find("locked"), std::string::npos) << loaded.error().message();

  // A secret that was never stored cannot be told apart from a hidden one while locked.
  auto missing = store->load("freshtoken-locked-test", "nobody");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::storage_unavailable) << missing.error().to_string();

  auto erased = store->erase("freshtoken-locked-test", "alice");
  ASSERT_FALSE(erased);
  EXPECT_EQ(erased.error().code(), ErrorCode::storage_unavailable) << erased.error().to_string();

  auto saved =
      store->save("freshtoken-locked-test", "alice", Secret(std::string_view("must-not-replace")));
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code(), ErrorCode::storage_unavailable) << saved.error().to_string();
  // Still locked: nothing prompted or unlocked behind our back.
  EXPECT_TRUE(default_collection_is_locked());

  unlock_default_collection();
  ASSERT_FALSE(default_collection_is_locked());
  auto after = store->load("freshtoken-locked-test", "alice");
  ASSERT_TRUE(after) << after.error().to_string();
  EXPECT_EQ(*after, token);
}

}  // namespace
}  // namespace freshtoken::testing
