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
/// handler is installed with SA_RESETHAND), so Ctrl-C twice always works.
///
/// @code
/// actatlas::io::install_interrupt_handlers();
/// try { run(); } catch (const actatlas::io::interrupted& e) { return e.exit_status(); }  // 130 or 143
/// @endcode
#pragma once

#include <csignal>
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

//! SIGINT and SIGTERM set the flag that `throw_if_interrupted` reads (see the file comment).
inline void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = &detail::record_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second signal takes the default action: the process ends
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

//! The signal received (SIGINT, SIGTERM), or 0.
inline int interrupt_requested() noexcept { return detail::interrupt_signal_flag(); }

//! Throws `interrupted` when a signal arrived. Call it where stopping leaves the folder
//! consistent, on the thread that owns the work (never inside a parallel region).
inline void throw_if_interrupted() {
  if (const int s = interrupt_requested()) throw interrupted(s);
}

}  // namespace actatlas::io
