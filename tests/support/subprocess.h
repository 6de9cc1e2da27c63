#pragma once
// Running a binary under test as a child process (the CLI tests run `cairn`
// as a user does). A helper, not a test: its own tests, asserting exit codes,
// output and environment, are SubprocessTest in tests/support/helpers_test.cc.

#include <sys/types.h>

#include <string>
#include <vector>

namespace cairn::test {

// Starts `binary` with `args`. Its stdout goes to a pipe (read end returned
// in *out_fd) when out_fd is not null, else to `out_file`; stderr to
// `err_file`. `env` entries ("NAME=value") replace or add to the inherited
// environment. Everything the child needs is prepared before fork(), so the
// child calls only async-signal-safe functions (the test process has
// threads). Returns the pid, or -1 when the pipe cannot be made.
pid_t SpawnProcess(const std::string& binary, const std::vector<std::string>& args,
                   const std::string& out_file, int* out_fd, const std::string& err_file,
                   const std::vector<std::string>& env = {});

// A waitpid status as a shell would report it: the exit code, or 128 + signal.
int ExitCodeOf(int wait_status);
// Waits for `pid`; its ExitCodeOf, or -1 when waitpid fails.
int WaitExit(pid_t pid);

// What a command run to completion did.
struct CommandOutcome {
  int exit_code = -1;  // -1 when it could not be started
  std::string out;
  std::string err;
};

// Runs `binary args...` to completion (SpawnProcess, WaitExit): stdout and
// stderr go through the files `dir`/stdout and `dir`/stderr and are read
// back. `env` as SpawnProcess's (an entry "NAME=" blanks an inherited value).
CommandOutcome RunCommand(const std::string& binary, const std::vector<std::string>& args,
                          const std::string& dir, const std::vector<std::string>& env = {});
// RunCommand for the `cairn` CLI: an inherited CAIRN_USER is blanked unless
// `env` sets one, so only the user a test gives acts.
CommandOutcome RunCliCommand(const std::string& binary, const std::vector<std::string>& args,
                             const std::string& dir, std::vector<std::string> env = {});

}  // namespace cairn::test
