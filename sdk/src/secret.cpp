#include "freshtoken/secret.hpp"

#include <openssl/crypto.h>  // CRYPTO_memcmp

#include <cstring>
#include <ostream>

#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken {

namespace {
std::unique_ptr<char[]> copy_bytes(std::string_view value) {
  if (value.empty()) return nullptr;
  auto data = std::make_unique<char[]>(value.size());
  std::memcpy(data.get(), value.data(), value.size());
  return data;
}
}  // namespace

Secret::Secret(std::string&& value) : data_(copy_bytes(value)), size_(value.size()) {
  util::wipe(value);
}

Secret::Secret(std::string_view value) : data_(copy_bytes(value)), size_(value.size()) {}

Secret::Secret(const Secret& other) : data_(copy_bytes(other.reveal())), size_(other.size_) {}

Secret::Secret(Secret&& other) noexcept : data_(std::move(other.data_)), size_(other.size_) {
  other.size_ = 0;
}

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) {
    auto copy = copy_bytes(other.reveal());
    wipe();
    data_ = std::move(copy);
    size_ = other.size_;
  }
  return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe();
    data_ = std::move(other.data_);
    size_ = other.size_;
    other.size_ = 0;
  }
  return *this;
}

Secret::~Secret() { wipe(); }

void Secret::wipe() noexcept {
  if (data_) util::wipe(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

std::string Secret::fingerprint() const {
  if (empty()) return "(empty)";
  return "sha256:" + util::hex(util::sha256(reveal())).substr(0, 8);
}

bool operator==(const Secret& a, const Secret& b) {
  if (a.size_ != b.size_) return false;
  if (a.size_ == 0) return true;
  return CRYPTO_memcmp(a.data_.get(), b.data_.get(), a.size_) == 0;
}

std::ostream& operator<<(std::ostream& out, const Secret& secret) {
  return out << secret.fingerprint();
}

}  // namespace freshtoken
