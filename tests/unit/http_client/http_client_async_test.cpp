// HttpClient::send_async: futures, callbacks on worker threads, re-entrancy and shutdown.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "fake_tokens.hpp"
#include "fake_transport.hpp"
#include "freshtoken/http_client.hpp"

namespace freshtoken::testing {
namespace {

constexpr auto kGenerous = std::chrono::seconds(20);  // only a hang would hit this

Request get(const std::string& url) {
  Request request;
  request.url = url;
  return request;
}

// Holds the transport's first exchange until released.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool entered = false, open = false;

  void pass() {
    std::unique_lock<std::mutex> lock(mutex);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  }
  void wait_entered() {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return entered; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex);
    open = true;
    cv.notify_all();
  }
};

TEST(HttpClientAsync, FutureResolvesWithResponseAndRetriesLikeSend) {
  auto transport = std::make_shared<FakeTransport>();
  auto tokens = std::make_shared<FakeTokens>();
  transport->enqueue(response(401));
  transport->enqueue(response(200, {}, "async"));
  HttpClient client(transport, tokens);
  auto future = client.send_async(get("https://api.example/me"));
  ASSERT_EQ(future.wait_for(kGenerous), std::future_status::ready);
  auto result = future.get();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->body, "async");
  EXPECT_EQ(transport->requests().at(1).headers.get("Authorization"), bearer("token-2"));
}

TEST(HttpClientAsync, FutureResolvesWithError) {
  auto transport = std::make_shared<FakeTransport>();
  HttpClient client(transport, std::make_shared<FakeTokens>());
  auto result = client.send_async(get("http://api.example/plain")).get();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::config);
}

TEST(HttpClientAsync, CallbackRunsOnAWorkerThread) {
  auto transport = std::make_shared<FakeTransport>();
  transport->enqueue(response(204));
  HttpClient client(transport, std::make_shared<FakeTokens>());
  std::promise<std::pair<int, std::thread::id>> done;
  client.send_async(get("https://api.example/x"), [&](Result<Response> result) {
    done.set_value({result ? result->status : -1, std::this_thread::get_id()});
  });
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(kGenerous), std::future_status::ready);
  auto [status, thread] = future.get();
  EXPECT_EQ(status, 204);
  EXPECT_NE(thread, std::this_thread::get_id());
}

TEST(HttpClientAsync, CallbackMayCallBackIntoTheClient) {
  auto transport = std::make_shared<FakeTransport>();
  transport->set_handler([](const Request& r) {
    return Result<Response>(response(200, {}, r.url.substr(r.url.rfind('/') + 1)));
  });
  HttpClientOptions options;
  options.async_threads = 1;  // the nested async send must not wait for its own worker
  HttpClient client(transport, std::make_shared<FakeTokens>(), options);
  std::promise<std::string> done;
  client.send_async(get("https://api.example/first"), [&](Result<Response> first) {
    auto second = client.send(get("https://api.example/second"));
    client.send_async(get("https://api.example/third"),
                      [&, f = first->body, s = second->body](Result<Response> third) {
                        done.set_value(f + "," + s + "," + (third ? third->body : "error"));
                      });
  });
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(kGenerous), std::future_status::ready);
  EXPECT_EQ(future.get(), "first,second,third");
}

TEST(HttpClientAsync, ManyRequestsAllResolve) {
  auto transport = std::make_shared<FakeTransport>();
  transport->set_handler([](const Request&) { return Result<Response>(response(200)); });
  HttpClient client(transport, std::make_shared<FakeTokens>());
  std::vector<std::future<Result<Response>>> futures;
  for (int i = 0; i < 50; ++i) futures.push_back(client.send_async(get("https://api.example/")));
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(kGenerous), std::future_status::ready);
    auto result = f.get();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
  }
  EXPECT_EQ(transport->request_count(), 50u);
}

TEST(HttpClientAsync, DestroyingFromACallbackCancelsQueuedWorkWithoutSendingIt) {
  auto transport = std::make_shared<FakeTransport>();
  Gate gate;
  transport->set_handler([&](const Request&) {
    gate.pass();
    return Result<Response>(response(200));
  });
  HttpClientOptions options;
  options.async_threads = 1;
  auto client = std::make_shared<HttpClient>(transport, std::make_shared<FakeTokens>(), options);
  std::promise<int> first;
  // The callback holds the last reference: the client dies on its own worker thread.
  client->send_async(get("https://api.example/1"),
                     [&first, keep = client](Result<Response> result) mutable {
                       first.set_value(result ? result->status : -1);
                       keep.reset();
                     });
  std::vector<std::future<Result<Response>>> queued;
  for (int i = 0; i < 4; ++i) queued.push_back(client->send_async(get("https://api.example/q")));
  gate.wait_entered();
  client.reset();
  gate.release();

  EXPECT_EQ(first.get_future().get(), 200);
  for (auto& f : queued) {
    ASSERT_EQ(f.wait_for(kGenerous), std::future_status::ready);
    auto result = f.get();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), ErrorCode::cancelled);
  }
  EXPECT_EQ(transport->request_count(), 1u);
}

TEST(HttpClientAsync, DestructorFinishesInFlightWorkAndResolvesEveryFuture) {
  auto transport = std::make_shared<FakeTransport>();
  Gate gate;
  std::atomic<bool> first_call{true};
  transport->set_handler([&](const Request&) {
    if (first_call.exchange(false)) gate.pass();
    return Result<Response>(response(200));
  });
  HttpClientOptions options;
  options.async_threads = 2;
  auto client = std::make_unique<HttpClient>(transport, std::make_shared<FakeTokens>(), options);
  std::vector<std::future<Result<Response>>> futures;
  futures.push_back(client->send_async(get("https://api.example/slow")));
  gate.wait_entered();
  for (int i = 0; i < 10; ++i) futures.push_back(client->send_async(get("https://api.example/")));
  std::thread destroyer([&] { client.reset(); });
  gate.release();
  destroyer.join();

  std::size_t succeeded = 0;
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    auto result = f.get();
    if (result) {
      EXPECT_EQ(result->status, 200);
      ++succeeded;
    } else {
      EXPECT_EQ(result.error().code(), ErrorCode::cancelled);
    }
  }
  EXPECT_GE(succeeded, 1u);                          // the exchange already on the wire completed
  EXPECT_EQ(transport->request_count(), succeeded);  // nothing cancelled was sent
}

}  // namespace
}  // namespace freshtoken::testing
