// The Windows Credential Manager store: generic credentials, one "head" per (service, account)
// and, for a value too large for one credential, chunk credentials named for a generation.
// The layout and why it is crash- and race-safe are in docs/secret-stores.md.
// clang-format off
#include <windows.h>
#include <wincred.h>
// clang-format on

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "freshtoken/platform/secret_stores.hpp"
#include "util/crypto.hpp"

namespace freshtoken {

namespace {

// Windows refuses a larger CredentialBlob (ERROR_INVALID_PARAMETER); Wine does not, so the
// store enforces it itself. MinGW's wincred.h still has the pre-Vista value 512.
constexpr std::size_t kMaxBlob = 5 * 512;
// A head: the magic, then 'I', the value's size (2 bytes) and the value, or 'C' and the
// description of the chunks; zero-padded to exactly kMaxBlob bytes. Always that size because
// Wine's CredReadW reads a blob's size and its bytes in two steps: a write that changed the
// size in between would make it overrun its buffer and report the wrong size.
constexpr char kMagic[] = {'F', 'T', 'C', '1'};
constexpr std::size_t kInlineHeader = sizeof kMagic + 1 + 2;
constexpr std::size_t kInlineCapacity = kMaxBlob - kInlineHeader;
constexpr std::size_t kGenerationBytes = 8;  // 16 hex digits in the chunks' names
constexpr std::size_t kChunkedHeadSize = sizeof kMagic + 1 + 2 * kGenerationBytes + 4 + 8 + 32;
// A head naming more would be corrupt: 10 MiB is far beyond any token record.
constexpr std::uint32_t kMaxChunks = 4096;
// A load that finds the chunks changed under it (a save replaced them) reads the head again.
constexpr int kLoadAttempts = 3;
// How long a save or erase waits for another process's save of the same entry to finish.
constexpr DWORD kWriterWaitMs = 30000;

// Percent-encodes all but [a-z0-9._-], upper-case letters included, with upper-case hex digits:
// Credential Manager compares target names case-insensitively, and this encoding stays
// injective under case folding, so no two (service, account) pairs share a name. '/' and '#',
// which the names use as separators, are always encoded.
std::string encode_name_part(const std::string& text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xf];
    }
  }
  return out;
}

std::wstring widen(const std::string& ascii) { return std::wstring(ascii.begin(), ascii.end()); }

// The account as UTF-16, for the UserName that Credential Manager shows; empty when it is not
// UTF-8 or too long for the field.
std::wstring display_name(const std::string& utf8) {
  if (utf8.empty() || utf8.size() > CRED_MAX_USERNAME_LENGTH) return {};
  const int length = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(),
                                         static_cast<int>(utf8.size()), nullptr, 0);
  if (length <= 0 || length > CRED_MAX_USERNAME_LENGTH) return {};
  std::wstring out(static_cast<std::size_t>(length), L'\0');
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), static_cast<int>(utf8.size()),
                      out.data(), length);
  return out;
}

// A credential CredReadW returned: its blob is zeroed before it is freed.
class ReadCredential {
 public:
  ReadCredential() = default;
  ReadCredential(const ReadCredential&) = delete;
  ReadCredential& operator=(const ReadCredential&) = delete;
  ~ReadCredential() {
    if (!credential_) return;
    if (credential_->CredentialBlob) {
      SecureZeroMemory(credential_->CredentialBlob, credential_->CredentialBlobSize);
    }
    CredFree(credential_);
  }
  // CredReadW of `target`; false (GetLastError() says why) when it failed. The result is
  // taken only on success: after a failure Wine may have filled the pointer with a
  // half-written credential whose blob pointer and size are garbage.
  bool read(const std::string& target) {
    PCREDENTIALW result = nullptr;
    if (!CredReadW(widen(target).c_str(), CRED_TYPE_GENERIC, 0, &result)) return false;
    credential_ = result;
    return true;
  }
  std::string_view blob() const {
    if (!credential_->CredentialBlob) return {};
    return {reinterpret_cast<const char*>(credential_->CredentialBlob),
            credential_->CredentialBlobSize};
  }

 private:
  PCREDENTIALW credential_ = nullptr;
};

// The per-entry named mutex that serialises saves and erases across threads and processes, so
// that one writer's clean-up never deletes another writer's chunks before its head names them.
class WriterLock {
 public:
  explicit WriterLock(const std::string& target) {
    const std::string name = "Local\\freshtoken-credential-" + util::hex(util::sha256(target));
    handle_ = CreateMutexW(nullptr, FALSE, widen(name).c_str());
    if (!handle_) {
      error_ = GetLastError();
      return;
    }
    // WAIT_ABANDONED: the previous owner died mid-save; its head still names a complete
    // record, and this writer's clean-up removes what it left.
    const DWORD waited = WaitForSingleObject(handle_, kWriterWaitMs);
    held_ = waited == WAIT_OBJECT_0 || waited == WAIT_ABANDONED;
    if (!held_) error_ = waited == WAIT_TIMEOUT ? WAIT_TIMEOUT : GetLastError();
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;
  ~WriterLock() {
    if (held_) ReleaseMutex(handle_);
    if (handle_) CloseHandle(handle_);
  }
  bool held() const { return held_; }
  DWORD error() const { return error_; }

 private:
  HANDLE handle_ = nullptr;
  bool held_ = false;
  DWORD error_ = ERROR_SUCCESS;
};

Error failure(const char* what, DWORD err, const std::string& account) {
  if (err == ERROR_NO_SUCH_LOGON_SESSION) {
    return Error(ErrorCode::storage_unavailable,
                 "Credential Manager is not available in this logon session (" + std::string(what) +
                     " for " + account + ")");
  }
  return Error(ErrorCode::storage, std::string("Credential Manager: ") + what + " failed for " +
                                       account + " (error " + std::to_string(err) + ")");
}

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

std::uint64_t get_le(std::string_view in, int bytes) {
  std::uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
  }
  return value;
}

// What a chunked head says.
struct Chunks {
  std::string generation;  // 16 hex digits
  std::uint32_t count = 0;
  std::uint64_t size = 0;
  std::string digest;  // SHA-256 of the whole value
};

class CredentialManagerStore final : public SecretStore {
 public:
  Result<Secret> load(const std::string& service, const std::string& account) override {
    const std::string head = head_target(service, account);
    for (int attempt = 0; attempt < kLoadAttempts; ++attempt) {
      ReadCredential credential;
      if (!credential.read(head)) {
        const DWORD err = GetLastError();
        if (err == ERROR_NOT_FOUND) {
          return Error(ErrorCode::not_found, "no secret stored for " + account);
        }
        return failure("CredReadW", err, account);
      }
      const std::string_view blob = credential.blob();
      if (blob.size() != kMaxBlob || blob.compare(0, sizeof kMagic, kMagic, sizeof kMagic) != 0) {
        return Error(ErrorCode::storage,
                     "the credential for " + account + " is not a record this store wrote");
      }
      if (blob[sizeof kMagic] == 'I') {
        const auto size = static_cast<std::size_t>(get_le(blob.substr(sizeof kMagic + 1, 2), 2));
        if (size > kInlineCapacity) {
          return Error(ErrorCode::storage, "the credential for " + account + " is corrupt");
        }
        return Secret(blob.substr(kInlineHeader, size));
      }
      Chunks chunks;
      if (blob[sizeof kMagic] != 'C' || !parse_chunked_head(blob, chunks)) {
        return Error(ErrorCode::storage, "the credential for " + account + " is corrupt");
      }
      auto value = read_chunks(head, chunks, account);
      if (!value) return value.error();
      if (value->has_value()) return std::move(**value);
      // A save replaced the chunks between our reads of the head and of them: read it again.
    }
    return Error(ErrorCode::storage, "the stored record for " + account +
                                         " was incomplete or kept changing while it was read");
  }

  Result<void> save(const std::string& service, const std::string& account,
                    const Secret& secret) override {
    const std::string head = head_target(service, account);
    WriterLock lock(head);
    if (!lock.held()) return failure("waiting for another save", lock.error(), account);
    const std::string_view value = secret.reveal();
    std::string generation;
    std::string record;
    record.reserve(kMaxBlob);  // one buffer, wiped below
    record.append(kMagic, sizeof kMagic);
    if (value.size() <= kInlineCapacity) {
      record += 'I';
      put_le(record, value.size(), 2);
      record.append(value);
    } else {
      generation = util::hex(util::random_bytes(kGenerationBytes));
      const std::uint64_t count = (value.size() + kMaxBlob - 1) / kMaxBlob;
      if (count > kMaxChunks) {
        return Error(ErrorCode::storage, "the secret for " + account + " is too large to store");
      }
      for (std::uint64_t i = 0; i < count; ++i) {
        const std::string_view part = value.substr(i * kMaxBlob, kMaxBlob);
        if (!write(chunk_target(head, generation, i), part, {})) {
          const DWORD err = GetLastError();
          (void)remove_chunks(head, generation, Chunk::of_generation);
          return failure("CredWriteW", err, account);
        }
      }
      record += 'C';
      record += generation;
      put_le(record, count, 4);
      put_le(record, value.size(), 8);
      record += util::sha256(value);
    }
    record.resize(kMaxBlob, '\0');
    // The switch: until this write, loads see the old record, whose chunks are untouched.
    const bool written = write(head, record, display_name(account));
    const DWORD err = GetLastError();
    util::wipe(record);
    if (!written) {
      if (!generation.empty()) (void)remove_chunks(head, generation, Chunk::of_generation);
      return failure("CredWriteW", err, account);
    }
    // Best effort: the save itself has succeeded, and the next save or erase tries again.
    (void)remove_chunks(head, generation, Chunk::not_of_generation);
    return {};
  }

  Result<void> erase(const std::string& service, const std::string& account) override {
    const std::string head = head_target(service, account);
    WriterLock lock(head);
    if (!lock.held()) return failure("waiting for another save", lock.error(), account);
    // The head first: from then on loads answer not_found, never a broken record.
    if (!CredDeleteW(widen(head).c_str(), CRED_TYPE_GENERIC, 0)) {
      const DWORD err = GetLastError();
      if (err != ERROR_NOT_FOUND) return failure("CredDeleteW", err, account);
    }
    // Chunks hold parts of the secret too, whether the head named them or a crash left them.
    if (auto err = remove_chunks(head, {}, Chunk::not_of_generation); err != ERROR_SUCCESS) {
      return failure("removing the secret's parts", err, account);
    }
    return {};
  }

  std::string describe() const override { return "credential-manager"; }

 private:
  static std::string head_target(const std::string& service, const std::string& account) {
    return "freshtoken:" + encode_name_part(service) + "/" + encode_name_part(account);
  }

  static std::string chunk_target(const std::string& head, const std::string& generation,
                                  std::uint64_t index) {
    return head + "#" + generation + "." + std::to_string(index);
  }

  static bool write(const std::string& target, std::string_view blob,
                    const std::wstring& user_name) {
    std::wstring name = widen(target);
    std::wstring user = user_name;
    CREDENTIALW credential{};
    credential.Type = CRED_TYPE_GENERIC;
    credential.TargetName = name.data();
    // CredWriteW does not write to the blob; the field is simply not const.
    credential.CredentialBlob = reinterpret_cast<LPBYTE>(const_cast<char*>(blob.data()));
    credential.CredentialBlobSize = static_cast<DWORD>(blob.size());
    credential.Persist = CRED_PERSIST_LOCAL_MACHINE;
    if (!user.empty()) credential.UserName = user.data();
    return CredWriteW(&credential, 0) != FALSE;
  }

  static bool parse_chunked_head(std::string_view blob, Chunks& chunks) {
    if (blob.size() < kChunkedHeadSize) return false;
    std::size_t at = sizeof kMagic + 1;
    chunks.generation = std::string(blob.substr(at, 2 * kGenerationBytes));
    at += 2 * kGenerationBytes;
    chunks.count = static_cast<std::uint32_t>(get_le(blob.substr(at, 4), 4));
    chunks.size = get_le(blob.substr(at + 4, 8), 8);
    chunks.digest = std::string(blob.substr(at + 12, 32));
    for (char c : chunks.generation) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return chunks.count > 0 && chunks.count <= kMaxChunks &&
           chunks.size > (chunks.count - 1) * std::uint64_t{kMaxBlob} &&
           chunks.size <= chunks.count * std::uint64_t{kMaxBlob};
  }

  // The value the chunks hold; an empty optional when one cannot be read or the whole does not
  // match the head's size and digest, which a save that raced this load explains.
  static Result<std::optional<Secret>> read_chunks(const std::string& head, const Chunks& chunks,
                                                   const std::string& account) {
    std::string value;
    value.reserve(static_cast<std::size_t>(chunks.size));  // one buffer: no unwiped copies
    for (std::uint32_t i = 0; i < chunks.count; ++i) {
      ReadCredential part;
      if (!part.read(chunk_target(head, chunks.generation, i))) {
        const DWORD err = GetLastError();
        util::wipe(value);
        if (err == ERROR_NO_SUCH_LOGON_SESSION) return failure("CredReadW", err, account);
        // Not found, or (Wine) deleted while it was being read: a save replaced the record.
        return std::optional<Secret>();
      }
      if (value.size() + part.blob().size() > chunks.size) break;
      value.append(part.blob());
    }
    const std::string digest = util::sha256(value);
    if (value.size() != chunks.size ||
        !util::constant_time_equal(digest.data(), chunks.digest.data(), digest.size())) {
      util::wipe(value);
      return std::optional<Secret>();
    }
    return std::optional<Secret>(Secret(std::move(value)));
  }

  enum class Chunk { of_generation, not_of_generation };
  // Deletes this entry's chunks that are (a failed save's) or are not (what the current head
  // replaced or a crash left) of `generation`; with an empty `generation`, `not_of_generation`
  // is every chunk. Returns the first error, ERROR_SUCCESS if none.
  static DWORD remove_chunks(const std::string& head, const std::string& generation, Chunk which) {
    DWORD count = 0;
    PCREDENTIALW* list = nullptr;
    if (!CredEnumerateW(widen(head + "#*").c_str(), 0, &count, &list)) {
      const DWORD err = GetLastError();
      return err == ERROR_NOT_FOUND ? ERROR_SUCCESS : err;
    }
    const std::wstring mine = widen(head + "#" + generation + ".");
    std::vector<std::wstring> doomed;
    for (DWORD i = 0; i < count; ++i) {
      const std::wstring name = list[i]->TargetName;
      if (list[i]->CredentialBlob) {
        SecureZeroMemory(list[i]->CredentialBlob, list[i]->CredentialBlobSize);
      }
      const bool of_generation =
          !generation.empty() && name.size() > mine.size() &&
          CompareStringOrdinal(name.data(), static_cast<int>(mine.size()), mine.data(),
                               static_cast<int>(mine.size()), TRUE) == CSTR_EQUAL;
      if (of_generation == (which == Chunk::of_generation)) doomed.push_back(name);
    }
    CredFree(list);
    DWORD first_error = ERROR_SUCCESS;
    for (const auto& name : doomed) {
      if (!CredDeleteW(name.c_str(), CRED_TYPE_GENERIC, 0)) {
        const DWORD err = GetLastError();
        if (err != ERROR_NOT_FOUND && first_error == ERROR_SUCCESS) first_error = err;
      }
    }
    return first_error;
  }
};

}  // namespace

std::shared_ptr<SecretStore> make_credential_manager_store() {
  return std::make_shared<CredentialManagerStore>();
}

}  // namespace freshtoken
