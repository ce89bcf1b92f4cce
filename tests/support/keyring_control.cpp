#include "keyring_control.hpp"

#include <libsecret/secret.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

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

}  // namespace

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

}  // namespace freshtoken::testing
