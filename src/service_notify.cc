#include "service_notify.h"

#include <systemd/sd-daemon.h>

#include <chrono>
#include <cstdint>

#include "log.h"

namespace esim {

ServiceNotifier::~ServiceNotifier() { StopWatchdog(); }

void ServiceNotifier::Ready() { sd_notify(0, "READY=1\nSTATUS=Serving metrics"); }

void ServiceNotifier::Reloading() { sd_notify(0, "RELOADING=1\nSTATUS=Reloading the config"); }

void ServiceNotifier::Stopping() { sd_notify(0, "STOPPING=1\nSTATUS=Stopping"); }

void ServiceNotifier::StartWatchdog(std::function<bool()> alive) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  const auto period = std::chrono::microseconds(usec / 2);
  watchdog_ = std::thread([this, period, alive = std::move(alive)] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, period, [this] { return stopping_; })) {
      lock.unlock();
      const bool ok = alive();
      lock.lock();
      if (ok) {
        sd_notify(0, "WATCHDOG=1");
      } else {
        LogError("watchdog: the exporter is not answering; systemd will restart it");
      }
    }
  });
}

void ServiceNotifier::StopWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

}  // namespace esim
