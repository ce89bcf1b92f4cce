// Fuzzes the lenient application/x-www-form-urlencoded splitter and component decoder that
// util::parse_form (fuzzed by form_parse) is built on.
// Property: whatever decodes re-encodes to something that decodes to the same fields.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "util/encoding.hpp"

using namespace freshtoken;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = fuzz::as_text(data, size);

  auto fields = util::form_decode_fields(body);
  if (fields) {
    for (const auto& [name, value] : *fields) {
      FUZZ_CHECK(name.size() + value.size() <= body.size());
    }
    const std::string encoded = util::form_encode(*fields);
    auto again = util::form_decode_fields(encoded);
    FUZZ_CHECK(again && *again == *fields);
  }

  auto text = util::form_decode(body);
  if (text) {
    FUZZ_CHECK(text->size() <= body.size());
    auto again = util::form_decode(util::form_encode(*text));
    FUZZ_CHECK(again && *again == *text);
  }
  return 0;
}
