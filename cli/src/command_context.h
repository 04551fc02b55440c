// What every command shares: the global options, the Context a command runs with
// (URL, timeouts, tokens, output streams), and small output helpers. Each command
// group registers itself with an add_*_commands() function (stats_commands.cpp,
// trending_commands.cpp, admin_commands.cpp); commands.cpp parses and runs.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>

#include "api_client.h"
#include "exit_codes.h"
#include "http_client.h"
#include "output.h"
#include "url.h"

namespace hubstats::cli {

inline constexpr const char* kDefaultUrl = "http://127.0.0.1:28080";

struct Globals {
  std::string url = kDefaultUrl;
  std::string token;
  std::string admin_token_file;
  std::string ca_file;
  double timeout = 10.0;
  bool json = false;
};

// Everything a command needs once arguments are parsed.
struct Context {
  const Globals& globals;
  const CLI::App& app;
  const std::map<std::string, std::string>& env;
  std::ostream& out;
  std::ostream& err;

  std::string env_or(const char* name, const std::string& fallback = "") const {
    auto it = env.find(name);
    return it == env.end() ? fallback : it->second;
  }

  BaseUrl base_url() const {
    bool given = app.get_option("--url")->count() > 0;
    return parse_base_url(given ? globals.url : env_or("HUBSTATS_URL", kDefaultUrl));
  }

  HttpOptions http_options() const {
    if (!(globals.timeout > 0) || !std::isfinite(globals.timeout) || globals.timeout > 86400) {
      throw CliError(ExitCode::kBadArgument, "--timeout must be between 0 and 86400 seconds");
    }
    HttpOptions o;
    o.timeout = std::chrono::milliseconds(
        std::max<std::int64_t>(1, std::llround(globals.timeout * 1000.0)));
    o.ca_file = globals.ca_file;
    return o;
  }

  // Readers: --token, else HUBSTATS_TOKEN.
  std::optional<std::string> read_token() const {
    if (!globals.token.empty()) return globals.token;
    auto t = env_or("HUBSTATS_TOKEN");
    if (!t.empty()) return t;
    return std::nullopt;
  }

  // Admin: --admin-token-file, else --token, else HUBSTATS_ADMIN_TOKEN, else HUBSTATS_TOKEN.
  std::optional<std::string> admin_token() const {
    if (!globals.admin_token_file.empty()) return read_token_file(globals.admin_token_file);
    if (!globals.token.empty()) return globals.token;
    for (const char* name : {"HUBSTATS_ADMIN_TOKEN", "HUBSTATS_TOKEN"}) {
      auto t = env_or(name);
      if (!t.empty()) return t;
    }
    throw CliError(ExitCode::kAuth,
                   "admin commands need the admin token: --admin-token-file, --token or "
                   "HUBSTATS_ADMIN_TOKEN");
  }

  static std::string read_token_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
      throw CliError(ExitCode::kBadArgument, "cannot read --admin-token-file '" + path + "'");
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string t = ss.str();
    auto first = t.find_first_not_of(" \t\r\n");
    auto last = t.find_last_not_of(" \t\r\n");
    if (first == std::string::npos) {
      throw CliError(ExitCode::kBadArgument, "--admin-token-file '" + path + "' is empty");
    }
    return t.substr(first, last - first + 1);
  }

  ApiClient reader() const {
    return ApiClient(HttpClient(base_url(), http_options()), read_token());
  }
  ApiClient admin() const {
    auto token = admin_token();
    return ApiClient(HttpClient(base_url(), http_options()), token);
  }

  // --json: the server's body exactly, newline-terminated.
  void print_raw(const ApiResult& r) const {
    out << r.raw;
    if (r.raw.empty() || r.raw.back() != '\n') out << '\n';
  }
};

// What the chosen subcommand will do once arguments are parsed (set by its callback).
using Action = std::function<void(const Context&)>;

// Prints a breakdown: --json the raw response, else render() (a table or CSV), to
// stdout or, with -o, atomically to a file.
template <class Render>
void emit(const Context& c, const ApiResult& r, bool csv, const std::string& output,
          Render render) {
  std::string content = c.globals.json ? r.raw : render();
  if (content.empty() || content.back() != '\n') content += '\n';
  if (!csv && !c.globals.json && output == "-") {
    c.out << content;
    return;
  }
  write_output(output, content, c.out);
  if (output != "-") c.err << "wrote " << output << "\n";
}

bool parse_bool_arg(const std::string& s);
// The field as text (strings unquoted, anything else as JSON); "" when absent.
std::string json_string(const nlohmann::json& j, const char* key);
// "yes" when the field is true, else "no".
std::string json_flag(const nlohmann::json& j, const char* key);

// Command groups.
void add_stats_commands(CLI::App& app, Action& action);
void add_trending_commands(CLI::App& app, Action& action);
void add_admin_commands(CLI::App& app, Action& action);

}  // namespace hubstats::cli
