// Secret: a string that must never be printed, logged or left behind in memory.
//
// The bytes live in one heap buffer that is zeroed (OPENSSL_cleanse) when the Secret is
// destroyed or overwritten; moves transfer the buffer, so no stray copy is left behind.
// Streaming a Secret prints its fingerprint ("sha256:1a2b3c4d"), never its value; reveal()
// is the one, greppable way to read the value.
//
// Thread safety: a const Secret may be read from many threads.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "freshtoken/export.hpp"

namespace freshtoken {

class FRESHTOKEN_API Secret {
 public:
  Secret() = default;
  // Takes the value and wipes the caller's string.
  explicit Secret(std::string&& value);
  explicit Secret(std::string_view value);
  Secret(const Secret& other);
  Secret(Secret&& other) noexcept;
  Secret& operator=(const Secret& other);
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  std::string_view reveal() const { return {data_.get(), size_}; }
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  // "sha256:" and the first 8 hex digits of the SHA-256 of the value; "(empty)" when empty.
  // Safe to log: it identifies a token without disclosing it.
  std::string fingerprint() const;

  // Constant-time comparison of the values.
  friend FRESHTOKEN_API bool operator==(const Secret& a, const Secret& b);
  friend bool operator!=(const Secret& a, const Secret& b) { return !(a == b); }

 private:
  void wipe() noexcept;
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
};

FRESHTOKEN_API std::ostream& operator<<(std::ostream& out, const Secret& secret);

}  // namespace freshtoken
