/// @file
/// Secret: a string that must never be printed, logged or left behind in memory.
///
/// The bytes live in one immutable heap buffer that copies of the Secret share; it is zeroed
/// (explicit_bzero) when the last Secret holding it is destroyed or overwritten. Copying is a
/// reference count, not a copy of the bytes: handing the access token to every request leaves
/// one copy of it in memory, not one per request.
/// Streaming a Secret prints its fingerprint ("sha256:1a2b3c4d"), never its value; reveal()
/// is the one, greppable way to read the value.
///
/// Thread safety: a const Secret may be read from many threads, and copies that share a buffer
/// may be used and destroyed on different threads.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "freshtoken/export.hpp"

namespace freshtoken {

/// A token, code or password: zeroed on release, printed only as its fingerprint.
class FRESHTOKEN_API Secret {
 public:
  /// Empty.
  Secret() = default;
  /// Takes the value and wipes the caller's string.
  explicit Secret(std::string&& value);
  /// Copies the value.
  explicit Secret(std::string_view value);
  /// Shares the buffer.
  Secret(const Secret& other) = default;
  /// Takes over the share; `other` is left empty.
  Secret(Secret&& other) noexcept;
  /// Lets go of the old value (zeroed if no other Secret shares it), then shares `other`'s.
  Secret& operator=(const Secret& other) = default;
  /// Lets go of the old value (zeroed if no other Secret shares it), then takes `other`'s.
  Secret& operator=(Secret&& other) noexcept;
  /// Lets go of the value: zeroed if no other Secret shares it.
  ~Secret() = default;

  /// The value: the one, greppable way to read it. Never log it.
  std::string_view reveal() const { return {data_.get(), size_}; }
  /// True when there is no value.
  bool empty() const { return size_ == 0; }
  /// The length of the value in bytes.
  std::size_t size() const { return size_; }

  /// "sha256:" and the first 8 hex digits of the SHA-256 of the value; "(empty)" when empty.
  /// Safe to log: it identifies a token without disclosing it.
  std::string fingerprint() const;

  /// Constant-time comparison of the values.
  friend FRESHTOKEN_API bool operator==(const Secret& a, const Secret& b);
  /// Constant-time comparison of the values.
  friend bool operator!=(const Secret& a, const Secret& b) { return !(a == b); }

 private:
  // The buffer's deleter zeroes it before freeing it.
  std::shared_ptr<const char[]> data_;
  std::size_t size_ = 0;
};

/// Writes the fingerprint, never the value.
FRESHTOKEN_API std::ostream& operator<<(std::ostream& out, const Secret& secret);

}  // namespace freshtoken
