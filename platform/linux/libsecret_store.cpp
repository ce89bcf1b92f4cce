// The libsecret store: secrets in the Secret Service (org.freedesktop.secrets) over D-Bus.
//
// Every operation first makes sure there is a session bus and a Secret Service provider on it
// (cheap checks that fail in milliseconds, instead of libsecret's 25 s D-Bus timeouts), then
// works on items of the schema below in the default collection. Locked state is read from
// the service itself: SearchItems returns locked matches separately (secret_item_get_locked
// on the items of secret_service_search_sync without SECRET_SEARCH_UNLOCK), and when nothing
// matches, the default collection's "Locked" property says whether "nothing" can be trusted.
// Prompts are refused by a SecretService subclass, so nothing here ever waits for a human.
//
// glib and libsecret stay inside this file.
#include <libsecret/secret.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "freshtoken/platform/secret_stores.hpp"

namespace freshtoken {

namespace {

constexpr const char* kSecretsBusName = "org.freedesktop.secrets";
constexpr int kQuickCallTimeoutMs = 5000;
constexpr int kStartServiceTimeoutMs = 10000;
constexpr int kServiceCallTimeoutMs = 15000;

// ---------------------------------------------------------------------------------------------
// A SecretService that refuses every prompt. libsecret routes all prompts (unlocking a
// collection, creating one) through these class methods; failing them here keeps the SDK
// from ever blocking on a dialog, headless or not.

GQuark no_prompt_quark() { return g_quark_from_static_string("freshtoken-no-prompt"); }
constexpr const char* kNoPromptMessage =
    "the Secret Service asked for an interactive prompt (is the keyring locked?)";

struct NoPromptService {
  SecretService parent;
};
struct NoPromptServiceClass {
  SecretServiceClass parent_class;
};

G_DEFINE_TYPE(NoPromptService, no_prompt_service, SECRET_TYPE_SERVICE)

GVariant* refuse_prompt_sync(SecretService*, SecretPrompt*, GCancellable*, const GVariantType*,
                             GError** error) {
  g_set_error_literal(error, no_prompt_quark(), 1, kNoPromptMessage);
  return nullptr;
}

void refuse_prompt_async(SecretService* self, SecretPrompt*, const GVariantType*, GCancellable*,
                         GAsyncReadyCallback callback, gpointer user_data) {
  g_task_report_new_error(self, callback, user_data,
                          reinterpret_cast<gpointer>(&refuse_prompt_async), no_prompt_quark(), 1,
                          "%s", kNoPromptMessage);
}

GVariant* refuse_prompt_finish(SecretService*, GAsyncResult* result, GError** error) {
  return static_cast<GVariant*>(g_task_propagate_pointer(G_TASK(result), error));
}

void no_prompt_service_init(NoPromptService*) {}

void no_prompt_service_class_init(NoPromptServiceClass* klass) {
  klass->parent_class.prompt_sync = refuse_prompt_sync;
  klass->parent_class.prompt_async = refuse_prompt_async;
  klass->parent_class.prompt_finish = refuse_prompt_finish;
}

// ---------------------------------------------------------------------------------------------
// Ownership helpers.

struct GObjectUnref {
  void operator()(gpointer object) const { g_object_unref(object); }
};
template <class T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct GVariantUnref {
  void operator()(GVariant* variant) const { g_variant_unref(variant); }
};
using GVariantPtr = std::unique_ptr<GVariant, GVariantUnref>;

struct GHashTableUnref {
  void operator()(GHashTable* table) const { g_hash_table_unref(table); }
};
using GHashTablePtr = std::unique_ptr<GHashTable, GHashTableUnref>;

struct ItemListFree {
  void operator()(GList* list) const { g_list_free_full(list, g_object_unref); }
};
using ItemList = std::unique_ptr<GList, ItemListFree>;

struct SecretValueUnref {
  void operator()(SecretValue* value) const { secret_value_unref(value); }
};
using SecretValuePtr = std::unique_ptr<SecretValue, SecretValueUnref>;

// An out-parameter for GError** that lands in a GErrorPtr.
class ErrorOut {
 public:
  ~ErrorOut() {
    if (raw_ != nullptr) g_error_free(raw_);
  }
  GError** operator&() { return &raw_; }  // NOLINT: mimics the C idiom on purpose
  explicit operator bool() const { return raw_ != nullptr; }
  const GError* get() const { return raw_; }

 private:
  GError* raw_ = nullptr;
};

// ---------------------------------------------------------------------------------------------

const SecretSchema* schema() {
  static const SecretSchema* instance = [] {
    static SecretSchema s{};
    s.name = "org.freshtoken.Secret";
    s.flags = SECRET_SCHEMA_NONE;
    s.attributes[0].name = "service";
    s.attributes[0].type = SECRET_SCHEMA_ATTRIBUTE_STRING;
    s.attributes[1].name = "account";
    s.attributes[1].type = SECRET_SCHEMA_ATTRIBUTE_STRING;
    return &s;
  }();
  return instance;
}

Error unavailable(std::string message) {
  return Error(ErrorCode::storage_unavailable, std::move(message));
}

bool is_one_of(const GError* error, GQuark domain, std::initializer_list<int> codes) {
  if (error->domain != domain) return false;
  for (int code : codes) {
    if (error->code == code) return true;
  }
  return false;
}

// Maps a GError from libsecret / GDBus onto the contract's error codes. GError messages
// carry names and D-Bus paths, never secret values.
Error from_gerror(const GError* error, const std::string& what) {
  std::string message = what + ": " + (error->message != nullptr ? error->message : "unknown");
  if (error->domain == no_prompt_quark()) {
    return unavailable(what + ": " + kNoPromptMessage);
  }
  if (is_one_of(error, SECRET_ERROR, {SECRET_ERROR_IS_LOCKED})) {
    return unavailable(what + ": the keyring collection is locked");
  }
  if (is_one_of(
          error, G_DBUS_ERROR,
          {G_DBUS_ERROR_SERVICE_UNKNOWN, G_DBUS_ERROR_NAME_HAS_NO_OWNER, G_DBUS_ERROR_NO_REPLY,
           G_DBUS_ERROR_TIMEOUT, G_DBUS_ERROR_TIMED_OUT, G_DBUS_ERROR_DISCONNECTED,
           G_DBUS_ERROR_NO_SERVER, G_DBUS_ERROR_SPAWN_FAILED, G_DBUS_ERROR_SPAWN_EXEC_FAILED,
           G_DBUS_ERROR_SPAWN_CHILD_EXITED, G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND}) ||
      is_one_of(error, G_IO_ERROR,
                {G_IO_ERROR_CLOSED, G_IO_ERROR_TIMED_OUT, G_IO_ERROR_CONNECTION_REFUSED,
                 G_IO_ERROR_NOT_CONNECTED, G_IO_ERROR_BROKEN_PIPE, G_IO_ERROR_CANCELLED,
                 G_IO_ERROR_NOT_FOUND, G_IO_ERROR_CONNECTION_CLOSED})) {
    return unavailable(std::move(message));
  }
  return Error(ErrorCode::storage, std::move(message));
}

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// Fails fast when there is plainly no session bus, before GIO gets a chance to autolaunch one
// or to wait on a dead address.
Result<void> check_session_bus_address() {
  const char* address = std::getenv("DBUS_SESSION_BUS_ADDRESS");
  if (address == nullptr || address[0] == '\0') {
    // GIO's own fallback: the systemd user bus socket.
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (runtime != nullptr && runtime[0] != '\0' && is_socket(std::string(runtime) + "/bus")) {
      return {};
    }
    return unavailable("no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set");
  }
  // When every entry of the address is a unix:path=..., at least one socket must exist.
  std::string text = address;
  bool only_paths = true;
  bool any_socket = false;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(';', start);
    if (end == std::string::npos) end = text.size();
    const std::string entry = text.substr(start, end - start);
    if (!entry.empty()) {
      constexpr std::string_view kPrefix = "unix:path=";
      if (entry.compare(0, kPrefix.size(), kPrefix) == 0) {
        std::string path = entry.substr(kPrefix.size());
        path = path.substr(0, path.find(','));
        char* unescaped = g_uri_unescape_string(path.c_str(), nullptr);
        if (unescaped != nullptr) {
          any_socket = any_socket || is_socket(unescaped);
          g_free(unescaped);
        }
      } else {
        only_paths = false;
      }
    }
    start = end + 1;
  }
  if (only_paths && !any_socket) {
    return unavailable(std::string("no D-Bus session bus: nothing listens at ") + address);
  }
  return {};
}

std::optional<std::string> validate_key(const std::string& service, const std::string& account) {
  auto valid = [](const std::string& s) {
    return s.find('\0') == std::string::npos &&
           g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr);
  };
  if (!valid(service) || !valid(account)) {
    return "the Secret Service needs service and account names in UTF-8 without NUL";
  }
  return std::nullopt;
}

GHashTablePtr attributes_for(const std::string& service, const std::string& account) {
  // Borrowed pointers: the strings outlive every call that uses the table.
  GHashTablePtr table(g_hash_table_new(g_str_hash, g_str_equal));
  g_hash_table_insert(table.get(), const_cast<char*>("service"),
                      const_cast<char*>(service.c_str()));
  g_hash_table_insert(table.get(), const_cast<char*>("account"),
                      const_cast<char*>(account.c_str()));
  return table;
}

class LibsecretStore final : public SecretStore {
 public:
  Result<Secret> load(const std::string& service, const std::string& account) override {
    if (auto bad = validate_key(service, account)) return Error(ErrorCode::storage, *bad);
    std::lock_guard<std::mutex> lock(mutex_);
    auto connected = connect();
    if (!connected) return connected.error();

    auto attributes = attributes_for(service, account);
    ErrorOut error;
    ItemList items(secret_service_search_sync(
        service_.get(), schema(), attributes.get(),
        static_cast<SecretSearchFlags>(SECRET_SEARCH_ALL | SECRET_SEARCH_LOAD_SECRETS), nullptr,
        &error));
    if (error) return from_gerror(error.get(), "cannot search the Secret Service");

    SecretItem* newest = nullptr;
    bool any_locked = false;
    for (GList* it = items.get(); it != nullptr; it = it->next) {
      auto* item = static_cast<SecretItem*>(it->data);
      if (secret_item_get_locked(item)) {
        any_locked = true;
      } else if (newest == nullptr ||
                 secret_item_get_modified(item) > secret_item_get_modified(newest)) {
        newest = item;
      }
    }
    if (newest == nullptr) {
      if (any_locked) {
        return unavailable("the keyring collection holding the secret of " + account +
                           " is locked");
      }
      // No match. In a locked default collection that proves nothing: say so rather than
      // "not found", which the SDK would take for "signed out".
      auto locked = default_collection_locked();
      if (!locked) return locked.error();
      if (locked->value_or(false)) {
        return unavailable("the default keyring collection is locked");
      }
      return Error(ErrorCode::not_found, "no secret stored for " + account);
    }
    SecretValuePtr value(secret_item_get_secret(newest));
    if (!value) {
      return Error(ErrorCode::storage, "the Secret Service returned no value for " + account);
    }
    gsize length = 0;
    const gchar* bytes = secret_value_get(value.get(), &length);
    return Secret(std::string_view(bytes, length));
  }

  Result<void> save(const std::string& service, const std::string& account,
                    const Secret& secret) override {
    if (auto bad = validate_key(service, account)) return Error(ErrorCode::storage, *bad);
    std::lock_guard<std::mutex> lock(mutex_);
    auto connected = connect();
    if (!connected) return connected.error();

    auto locked = default_collection_locked();
    if (!locked) return locked.error();
    if (!locked->has_value()) {
      return unavailable(
          "the Secret Service has no default collection (creating one needs a prompt)");
    }
    if (**locked) return unavailable("the default keyring collection is locked");

    const auto bytes = secret.reveal();
    // secret_value_new copies into libsecret's non-pageable memory, wiped on release.
    SecretValuePtr value(secret_value_new(bytes.empty() ? "" : bytes.data(),
                                          static_cast<gssize>(bytes.size()),
                                          "application/octet-stream"));
    auto attributes = attributes_for(service, account);
    const std::string label = "freshtoken: " + account + " (" + service + ")";
    ErrorOut error;
    secret_service_store_sync(service_.get(), schema(), attributes.get(), SECRET_COLLECTION_DEFAULT,
                              label.c_str(), value.get(), nullptr, &error);
    if (error) return from_gerror(error.get(), "cannot store in the Secret Service");
    return {};
  }

  Result<void> erase(const std::string& service, const std::string& account) override {
    if (auto bad = validate_key(service, account)) return Error(ErrorCode::storage, *bad);
    std::lock_guard<std::mutex> lock(mutex_);
    auto connected = connect();
    if (!connected) return connected.error();

    auto attributes = attributes_for(service, account);
    ErrorOut error;
    ItemList items(secret_service_search_sync(service_.get(), schema(), attributes.get(),
                                              SECRET_SEARCH_ALL, nullptr, &error));
    if (error) return from_gerror(error.get(), "cannot search the Secret Service");
    // All or nothing: refuse before deleting anything when a match is locked.
    for (GList* it = items.get(); it != nullptr; it = it->next) {
      if (secret_item_get_locked(static_cast<SecretItem*>(it->data))) {
        return unavailable("the keyring collection holding the secret of " + account +
                           " is locked");
      }
    }
    if (items == nullptr) {
      auto locked = default_collection_locked();
      if (!locked) return locked.error();
      if (locked->value_or(false)) return unavailable("the default keyring collection is locked");
      return {};
    }
    for (GList* it = items.get(); it != nullptr; it = it->next) {
      ErrorOut delete_error;
      secret_item_delete_sync(static_cast<SecretItem*>(it->data), nullptr, &delete_error);
      if (delete_error) return from_gerror(delete_error.get(), "cannot delete from the keyring");
    }
    return {};
  }

  std::string describe() const override { return "libsecret"; }

 private:
  // Makes service_ usable: a live session bus, a provider that owns org.freedesktop.secrets
  // (started by D-Bus activation if it can be), and a SecretService proxy with an open
  // session on that same provider. Caller holds mutex_.
  Result<void> connect() {
    if (auto address = check_session_bus_address(); !address) return address;
    if (service_ &&
        g_dbus_connection_is_closed(g_dbus_proxy_get_connection(G_DBUS_PROXY(service_.get())))) {
      service_.reset();
    }
    GObjectPtr<GDBusConnection> bus;
    if (service_) {
      bus.reset(G_DBUS_CONNECTION(
          g_object_ref(g_dbus_proxy_get_connection(G_DBUS_PROXY(service_.get())))));
    } else {
      ErrorOut error;
      bus.reset(g_bus_get_sync(G_BUS_TYPE_SESSION, nullptr, &error));
      if (!bus) {
        return unavailable(std::string("cannot connect to the D-Bus session bus: ") +
                           error.get()->message);
      }
    }
    auto owner = provider_owner(bus.get());
    if (!owner) return owner.error();
    // A new provider (the daemon restarted) knows nothing of our old session: start over.
    if (service_ && *owner != owner_) service_.reset();
    if (!service_) {
      ErrorOut error;
      service_.reset(secret_service_open_sync(no_prompt_service_get_type(), nullptr,
                                              SECRET_SERVICE_OPEN_SESSION, nullptr, &error));
      if (!service_) return from_gerror(error.get(), "cannot open the Secret Service");
      g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(service_.get()), kServiceCallTimeoutMs);
      owner_ = *owner;
    }
    return {};
  }

  // The unique bus name of the Secret Service provider, activating it when the bus knows how.
  Result<std::string> provider_owner(GDBusConnection* bus) {
    auto get_owner = [&](GError** error) -> GVariantPtr {
      return GVariantPtr(g_dbus_connection_call_sync(
          bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
          "GetNameOwner", g_variant_new("(s)", kSecretsBusName), G_VARIANT_TYPE("(s)"),
          G_DBUS_CALL_FLAGS_NONE, kQuickCallTimeoutMs, nullptr, error));
    };
    ErrorOut error;
    GVariantPtr reply = get_owner(&error);
    if (!reply) {
      if (!g_error_matches(error.get(), G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER)) {
        return from_gerror(error.get(), "cannot ask the session bus for the Secret Service");
      }
      if (!activatable(bus)) {
        return unavailable(
            "no Secret Service provider (org.freedesktop.secrets) on the session bus");
      }
      ErrorOut start_error;
      GVariantPtr started(g_dbus_connection_call_sync(
          bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
          "StartServiceByName", g_variant_new("(su)", kSecretsBusName, 0u), G_VARIANT_TYPE("(u)"),
          G_DBUS_CALL_FLAGS_NONE, kStartServiceTimeoutMs, nullptr, &start_error));
      if (!started) {
        return unavailable(std::string("the Secret Service provider could not be started: ") +
                           start_error.get()->message);
      }
      ErrorOut again;
      reply = get_owner(&again);
      if (!reply) return from_gerror(again.get(), "the Secret Service provider went away");
    }
    const gchar* name = nullptr;
    g_variant_get(reply.get(), "(&s)", &name);
    return std::string(name);
  }

  static bool activatable(GDBusConnection* bus) {
    GVariantPtr reply(g_dbus_connection_call_sync(
        bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "ListActivatableNames", nullptr, G_VARIANT_TYPE("(as)"), G_DBUS_CALL_FLAGS_NONE,
        kQuickCallTimeoutMs, nullptr, nullptr));
    if (!reply) return false;
    GVariantIter* names = nullptr;
    g_variant_get(reply.get(), "(as)", &names);
    bool found = false;
    const gchar* name = nullptr;
    while (g_variant_iter_loop(names, "&s", &name)) {
      if (std::strcmp(name, kSecretsBusName) == 0) found = true;
    }
    g_variant_iter_free(names);
    return found;
  }

  // Whether the default collection is locked, read from the provider now (no cached
  // property); nullopt when there is no default collection.
  Result<std::optional<bool>> default_collection_locked() {
    GDBusConnection* bus = g_dbus_proxy_get_connection(G_DBUS_PROXY(service_.get()));
    ErrorOut error;
    GVariantPtr alias(g_dbus_connection_call_sync(
        bus, kSecretsBusName, "/org/freedesktop/secrets", "org.freedesktop.Secret.Service",
        "ReadAlias", g_variant_new("(s)", "default"), G_VARIANT_TYPE("(o)"),
        G_DBUS_CALL_FLAGS_NO_AUTO_START, kQuickCallTimeoutMs, nullptr, &error));
    if (!alias) return from_gerror(error.get(), "cannot read the default keyring collection");
    const gchar* path = nullptr;
    g_variant_get(alias.get(), "(&o)", &path);
    if (std::strcmp(path, "/") == 0) return std::optional<bool>();

    ErrorOut property_error;
    GVariantPtr reply(g_dbus_connection_call_sync(
        bus, kSecretsBusName, path, "org.freedesktop.DBus.Properties", "Get",
        g_variant_new("(ss)", "org.freedesktop.Secret.Collection", "Locked"), G_VARIANT_TYPE("(v)"),
        G_DBUS_CALL_FLAGS_NO_AUTO_START, kQuickCallTimeoutMs, nullptr, &property_error));
    if (!reply) {
      return from_gerror(property_error.get(), "cannot read the keyring's locked state");
    }
    GVariant* boxed = nullptr;
    g_variant_get(reply.get(), "(v)", &boxed);
    GVariantPtr locked(boxed);
    if (!g_variant_is_of_type(locked.get(), G_VARIANT_TYPE_BOOLEAN)) {
      return Error(ErrorCode::storage, "the keyring reported a malformed locked state");
    }
    return std::optional<bool>(g_variant_get_boolean(locked.get()) != FALSE);
  }

  std::mutex mutex_;
  GObjectPtr<SecretService> service_;
  std::string owner_;
};

}  // namespace

std::shared_ptr<SecretStore> make_libsecret_store() { return std::make_shared<LibsecretStore>(); }

}  // namespace freshtoken
