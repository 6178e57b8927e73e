/// @file io/interrupt.hpp
/// Ctrl-C and `kill` during a long stage: the signal only sets a flag; the stages look at
/// it between units of work that leave the folder consistent (a collection between
/// batches, the icons between optimisation steps) and throw `interrupted`. Unwinding
/// removes the temporaries of the unit in progress (atomic_file.hpp, npy_writer), so what
/// is on disk is the committed shards and cached icons, and the same command resumes.
///
/// Nothing happens unless a program calls `install_interrupt_handlers()` (the actatlas
/// program does, first thing): a library user keeps the default action of the signals.
/// A second signal while the first is being handled ends the process at once (the
/// handler is installed with SA_RESETHAND), so Ctrl-C twice always works. A signal the
/// process inherited as ignored stays ignored: `nohup` and a shell's background jobs
/// (`cmd &` without job control) start programs with SIGINT at SIG_IGN precisely so that a
/// Ctrl-C at the terminal does not reach them, and catching it would undo that.
///
/// @code
/// actatlas::io::install_interrupt_handlers();
/// try { run(); } catch (const actatlas::io::interrupted& e) { return e.exit_status(); }  // 130 or 143
/// @endcode
#pragma once

#include <atomic>
#include <csignal>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>

#include <signal.h>

namespace actatlas::io {

//! A stage stopped because the process received SIGINT or SIGTERM.
class interrupted : public std::runtime_error {
 public:
  explicit interrupted(int signal)
      : std::runtime_error(std::string("interrupted by ") + (signal == SIGTERM ? "SIGTERM" : "SIGINT")),
        signal_(signal) {}
  int signal() const noexcept { return signal_; }
  //! What a shell reports for a process killed by the signal: 128 + its number (130, 143).
  int exit_status() const noexcept { return 128 + signal_; }

 private:
  int signal_;
};

namespace detail {
inline volatile std::sig_atomic_t& interrupt_signal_flag() {
  static volatile std::sig_atomic_t flag = 0;
  return flag;
}
extern "C" inline void record_interrupt(int signal) { interrupt_signal_flag() = signal; }
}  // namespace detail

//! SIGINT and SIGTERM set the flag that `throw_if_interrupted` reads, except a signal that
//! is ignored when this is called, which stays ignored (see the file comment).
inline void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = &detail::record_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second signal takes the default action: the process ends
  for (const int sig : {SIGINT, SIGTERM}) {
    struct sigaction now {};
    if (::sigaction(sig, nullptr, &now) == 0 && !(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_IGN) continue;
    ::sigaction(sig, &action, nullptr);
  }
}

//! The signal received (SIGINT, SIGTERM), or 0.
inline int interrupt_requested() noexcept { return detail::interrupt_signal_flag(); }

namespace detail {
//! A stop asked for by another thread of this program, with the exception it ends in.
struct stop_request {
  std::atomic<bool> asked{false};
  std::mutex mutex;
  std::exception_ptr reason;
};
inline stop_request& pending_stop() {
  static stop_request request;
  return request;
}
}  // namespace detail

//! Asks the stages to stop at their next safe point by throwing `reason` there: the same
//! safe points and the same unwinding as a signal, for a stop that comes from inside the
//! program (a distributed job's watchdog when another rank is lost, torch/process_group.hpp).
//! Thread-safe; the first request wins.
inline void request_stop(std::exception_ptr reason) {
  auto& r = detail::pending_stop();
  const std::lock_guard<std::mutex> hold(r.mutex);
  if (r.asked.load()) return;
  r.reason = std::move(reason);
  r.asked.store(true);
}

//! True once request_stop() was called.
inline bool stop_requested() noexcept { return detail::pending_stop().asked.load(); }

//! Throws `interrupted` when a signal arrived, or the exception of a request_stop(). Call it
//! where stopping leaves the folder consistent, on the thread that owns the work (never
//! inside a parallel region).
inline void throw_if_interrupted() {
  if (const int s = interrupt_requested()) throw interrupted(s);
  if (stop_requested()) {
    auto& r = detail::pending_stop();
    const std::lock_guard<std::mutex> hold(r.mutex);
    std::rethrow_exception(r.reason);
  }
}

}  // namespace actatlas::io
