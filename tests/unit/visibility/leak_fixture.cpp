// A library that leaks an internal symbol on purpose: check_exports.sh must reject it.
namespace freshtoken::detail {
__attribute__((visibility("default"))) int leaked_internal() { return 42; }
}  // namespace freshtoken::detail

__attribute__((visibility("default"))) int freshtoken_public_looking() {
  return freshtoken::detail::leaked_internal();
}
