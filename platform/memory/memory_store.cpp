#include <map>
#include <mutex>
#include <utility>

#include "freshtoken/platform/secret_stores.hpp"

namespace freshtoken {

namespace {

class MemoryStore final : public SecretStore {
 public:
  Result<Secret> load(const std::string& service, const std::string& account) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = secrets_.find({service, account});
    if (it == secrets_.end()) return Error(ErrorCode::not_found, "no secret stored for " + account);
    return it->second;
  }

  Result<void> save(const std::string& service, const std::string& account,
                    const Secret& secret) override {
    std::lock_guard<std::mutex> lock(mutex_);
    secrets_[{service, account}] = secret;
    return {};
  }

  Result<void> erase(const std::string& service, const std::string& account) override {
    std::lock_guard<std::mutex> lock(mutex_);
    secrets_.erase({service, account});
    return {};
  }

  std::string describe() const override { return "memory"; }

 private:
  std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Secret> secrets_;
};

}  // namespace

std::shared_ptr<SecretStore> make_memory_store() { return std::make_shared<MemoryStore>(); }

}  // namespace freshtoken
