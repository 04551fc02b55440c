#include "commands.h"

#include <CLI/CLI.hpp>

#include "command_context.h"
#include "exit_codes.h"

#ifndef HUBSTATS_VERSION
#define HUBSTATS_VERSION "dev"
#endif

namespace hubstats::cli {
namespace {

const std::string kHelpFooter = std::string("\nEnvironment: HUBSTATS_URL, HUBSTATS_TOKEN, ") +
                                "HUBSTATS_ADMIN_TOKEN (admin commands).\n" + exit_codes_help();

// One line, without the newlines some CLI11 messages carry.
std::string flatten(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

int run(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
        std::ostream& out, std::ostream& err) {
  CLI::App app{"hubstats: download statistics of a model hub, from the hubstats API", "hubstats"};
  app.fallthrough();  // global options are accepted after the subcommand too
  app.require_subcommand(1);
  app.footer(kHelpFooter);
  app.set_version_flag("--version", std::string("hubstats ") + HUBSTATS_VERSION);

  Globals g;
  app.add_option("--url", g.url, "API base URL (env HUBSTATS_URL)")->default_str(kDefaultUrl);
  app.add_option("--token", g.token,
                 "Bearer token (env HUBSTATS_TOKEN); for admin commands, the admin token");
  app.add_option("--admin-token-file", g.admin_token_file,
                 "File holding the admin token (admin commands)");
  app.add_option("--timeout", g.timeout, "Seconds for the whole request")->default_val(10.0);
  app.add_option("--cacert", g.ca_file, "Extra CA certificates (PEM) for https URLs");
  app.add_flag("--json", g.json, "Print the server's raw JSON response");

  Action action;

  add_stats_commands(app, action);
  add_trending_commands(app, action);
  add_admin_commands(app, action);

  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion&) {
    out << "hubstats " << HUBSTATS_VERSION << "\n";
    return static_cast<int>(ExitCode::kOk);
  } catch (const CLI::ParseError& e) {
    err << "hubstats: " << flatten(e.what()) << " (see hubstats --help)\n";
    return static_cast<int>(ExitCode::kBadArgument);
  } catch (const CliError& e) {
    err << "hubstats: " << flatten(e.what()) << "\n";
    return static_cast<int>(e.code());
  }

  try {
    if (!action) throw CliError(ExitCode::kBadArgument, "no command given (see hubstats --help)");
    Context ctx{g, app, env, out, err};
    action(ctx);
    out.flush();
    return static_cast<int>(ExitCode::kOk);
  } catch (const CliError& e) {
    err << "hubstats: " << flatten(e.what()) << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    err << "hubstats: " << flatten(e.what()) << "\n";
    return static_cast<int>(ExitCode::kHttpError);
  }
}

}  // namespace hubstats::cli
