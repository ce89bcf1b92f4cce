#include "freshtoken/secret.hpp"

#include <cstring>
#include <ostream>

#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken {

namespace {
std::shared_ptr<const char[]> share_copy(std::string_view value) {
  if (value.empty()) return nullptr;
  // Allocated and freed with new[]/delete[], which the secret-wipe test watches.
  std::unique_ptr<char[]> bytes(new char[value.size()]);
  std::memcpy(bytes.get(), value.data(), value.size());
  const std::size_t size = value.size();
  return std::shared_ptr<const char[]>(bytes.release(), [size](const char* p) {
    util::wipe(const_cast<char*>(p), size);
    delete[] p;
  });
}
}  // namespace

Secret::Secret(std::string&& value) : data_(share_copy(value)), size_(value.size()) {
  util::wipe(value);
}

Secret::Secret(std::string_view value) : data_(share_copy(value)), size_(value.size()) {}

Secret::Secret(Secret&& other) noexcept : data_(std::move(other.data_)), size_(other.size_) {
  other.size_ = 0;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    data_ = std::move(other.data_);
    size_ = other.size_;
    other.size_ = 0;
  }
  return *this;
}

std::string Secret::fingerprint() const {
  if (empty()) return "(empty)";
  return "sha256:" + util::hex(util::sha256(reveal())).substr(0, 8);
}

bool operator==(const Secret& a, const Secret& b) {
  if (a.size_ != b.size_) return false;
  if (a.size_ == 0) return true;
  if (a.data_ == b.data_) return true;
  return util::constant_time_equal(a.data_.get(), b.data_.get(), a.size_);
}

std::ostream& operator<<(std::ostream& out, const Secret& secret) {
  return out << secret.fingerprint();
}

}  // namespace freshtoken
