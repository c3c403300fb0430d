// Tells systemd how the service is doing (Type=notify): READY=1 once serving, RELOADING=1 and
// READY=1 around a reload, STOPPING=1 on the way out, and WATCHDOG=1 every half WatchdogSec while
// the exporter's own locks still answer. Does nothing when not started by systemd.
// Thread safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace esim {

class ServiceNotifier {
 public:
  ~ServiceNotifier();
  void Ready();
  void Reloading();
  void Stopping();
  // `alive` must return quickly; when it does not return true the watchdog is not fed and
  // systemd restarts the service after WatchdogSec.
  void StartWatchdog(std::function<bool()> alive);
  void StopWatchdog();

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread watchdog_;
};

}  // namespace esim
