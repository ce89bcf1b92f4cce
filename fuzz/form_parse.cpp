// Fuzzes util::parse_form, the strict form decoder the mock server reads every token,
// revocation, device and sign-in request with (bodies and query strings), and the loopback
// listener reads the redirect's query with.
// Properties: an accepted form has unique non-empty names and survives encode -> parse
// unchanged, and agrees with the lenient splitter; a refusal points at a real malformed
// escape or a name that really repeats; the reason never repeats a planted value; and
// decode(encode(x)) == x for the input as raw bytes.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz_support.hpp"
#include "util/encoding.hpp"

using namespace freshtoken;
using Status = util::ParsedForm::Status;

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const auto form = util::parse_form(text);
  const auto lenient = util::form_decode_fields(text);
  // The reason never repeats text from the input beyond the protocol's own parameter names.
  FUZZ_CHECK(!fuzz::leaks_canary(text, form.describe()));

  switch (form.status) {
    case Status::ok: {
      FUZZ_CHECK(form.describe().empty());
      std::set<std::string> names;
      for (const auto& [name, value] : form.fields) {
        FUZZ_CHECK(!name.empty());
        FUZZ_CHECK(names.insert(name).second);
        FUZZ_CHECK(form.find(name) == &value);
      }
      // The same parameters as the lenient splitter, minus the nameless parts.
      FUZZ_CHECK(lenient);
      util::FormFields named;
      for (const auto& field : *lenient) {
        if (!field.first.empty()) named.push_back(field);
      }
      FUZZ_CHECK(named == form.fields);
      // encode -> parse gives the same parameters back.
      const auto again = util::parse_form(util::form_encode(form.fields));
      FUZZ_CHECK(again && again.fields == form.fields);
      break;
    }
    case Status::malformed_escape: {
      FUZZ_CHECK(!lenient);
      FUZZ_CHECK(form.fields.empty());
      FUZZ_CHECK(form.offset < text.size() && text[form.offset] == '%');
      const bool valid_escape = form.offset + 2 < text.size() && is_hex(text[form.offset + 1]) &&
                                is_hex(text[form.offset + 2]);
      FUZZ_CHECK(!valid_escape);
      break;
    }
    case Status::repeated_name: {
      FUZZ_CHECK(lenient);
      FUZZ_CHECK(form.fields.empty() && !form.name.empty());
      int seen = 0;
      for (const auto& field : *lenient) seen += field.first == form.name ? 1 : 0;
      FUZZ_CHECK(seen >= 2);
      break;
    }
  }

  // decode(encode(x)) == x for any bytes, and a plain component decodes like the form does.
  auto round = util::form_decode(util::form_encode(text));
  FUZZ_CHECK(round && *round == text);
  return 0;
}
