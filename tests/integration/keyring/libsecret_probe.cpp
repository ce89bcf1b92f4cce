// libsecret_probe OP SERVICE ACCOUNT [VALUE]: one libsecret store call in a fresh process, so
// tests can run it under a different D-Bus environment. Prints "ok" (and for load the value's
// fingerprint) or "<error code>: <message>"; exits 0 on success, 1 on an error.
#include <iostream>
#include <string>

#include "freshtoken/platform/secret_stores.hpp"

int main(int argc, char** argv) {
  using namespace freshtoken;
  if (argc < 4) {
    std::cerr << "usage: libsecret_probe load|save|erase SERVICE ACCOUNT [VALUE]\n";
    return 2;
  }
  const std::string op = argv[1];
  auto store = make_libsecret_store();
  auto report = [](const Error& error) {
    std::cout << to_string(error.code()) << ": " << error.message() << std::endl;
    return 1;
  };
  if (op == "load") {
    auto loaded = store->load(argv[2], argv[3]);
    if (!loaded) return report(loaded.error());
    std::cout << "ok " << *loaded << std::endl;
  } else if (op == "save") {
    auto saved = store->save(argv[2], argv[3], Secret(std::string_view(argc > 4 ? argv[4] : "")));
    if (!saved) return report(saved.error());
    std::cout << "ok" << std::endl;
  } else if (op == "erase") {
    auto erased = store->erase(argv[2], argv[3]);
    if (!erased) return report(erased.error());
    std::cout << "ok" << std::endl;
  } else {
    std::cerr << "unknown operation " << op << "\n";
    return 2;
  }
  return 0;
}
