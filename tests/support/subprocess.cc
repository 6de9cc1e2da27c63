#include "support/subprocess.h"

#include "support/temp_files.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace cairn::test {

pid_t SpawnProcess(const std::string& binary, const std::vector<std::string>& args,
                   const std::string& out_file, int* out_fd, const std::string& err_file,
                   const std::vector<std::string>& env) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& x : env) overridden |= x.starts_with(name + "=");
    if (!overridden) env_strings.push_back(entry);
  }
  for (const auto& x : env) env_strings.push_back(x);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings = {binary};
  arg_strings.insert(arg_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : arg_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2] = {-1, -1};
  if (out_fd != nullptr && pipe(pipe_fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    if (out_fd != nullptr) {
      dup2(pipe_fds[1], 1);
      close(pipe_fds[0]);
      close(pipe_fds[1]);
    } else {
      int fd = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      close(fd);
    }
    int efd = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(efd, 2);
    close(efd);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (out_fd != nullptr) {
    close(pipe_fds[1]);
    *out_fd = pipe_fds[0];
  }
  return pid;
}

int ExitCodeOf(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

int WaitExit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return ExitCodeOf(status);
}

CommandOutcome RunCommand(const std::string& binary, const std::vector<std::string>& args,
                          const std::string& dir, const std::vector<std::string>& env) {
  const std::string out = dir + "/stdout", err = dir + "/stderr";
  CommandOutcome o;
  const pid_t pid = SpawnProcess(binary, args, out, nullptr, err, env);
  if (pid < 0) return o;
  o.exit_code = WaitExit(pid);
  o.out = ReadFile(out);
  o.err = ReadFile(err);
  return o;
}

CommandOutcome RunCliCommand(const std::string& binary, const std::vector<std::string>& args,
                             const std::string& dir, std::vector<std::string> env) {
  bool user_given = false;
  for (const auto& e : env) user_given |= e.starts_with("CAIRN_USER=");
  if (!user_given) env.push_back("CAIRN_USER=");
  return RunCommand(binary, args, dir, env);
}

}  // namespace cairn::test
