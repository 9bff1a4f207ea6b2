using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.Extensions.Options;
using Sovereign.Core.Options;
using Sovereign.Models.Distribution;

namespace Sovereign.Server.Hosting;

/// <summary>
/// Checks <see cref="SovereignOptions"/> and its nested sections with their DataAnnotations plus the rules
/// attributes cannot express. Reports every problem at once, each naming the setting and its value
/// (secrets by their length only). Stateless; thread-safe.
/// </summary>
internal sealed class SovereignOptionsValidator : IValidateOptions<SovereignOptions>
{
    public ValidateOptionsResult Validate(string? name, SovereignOptions options)
    {
        var failures = new List<string>();
        Annotations(options, SovereignOptions.Section, failures);
        Annotations(options.Engine, $"{SovereignOptions.Section}:Engine", failures);
        Annotations(options.Limits, $"{SovereignOptions.Section}:Limits", failures);

        if (!string.IsNullOrWhiteSpace(options.Home))
        {
            try
            {
                _ = Path.GetFullPath(options.Home);
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
            {
                failures.Add($"Sovereign:Home = '{options.Home}' is not a usable path: {e.Message}");
            }
        }
        if (!string.IsNullOrWhiteSpace(options.Database))
        {
            try
            {
                var parsed = new Npgsql.NpgsqlConnectionStringBuilder(options.Database);
                if (string.IsNullOrWhiteSpace(parsed.Host))
                    failures.Add("Sovereign:Database (SOV_DATABASE) is invalid: the PostgreSQL connection string names no Host.");
            }
            catch (ArgumentException e)
            {
                // The value may hold a password: name the problem, not the value.
                failures.Add($"Sovereign:Database (SOV_DATABASE) is not a valid PostgreSQL connection string: {e.Message}");
            }
        }
        if (options.Engine.KeepAlive < TimeSpan.Zero)
            failures.Add($"Sovereign:Engine:KeepAlive = '{options.Engine.KeepAlive}' is invalid: it must not be negative.");
        if (options.Engine.LoadTimeout <= TimeSpan.Zero)
            failures.Add($"Sovereign:Engine:LoadTimeout = '{options.Engine.LoadTimeout}' is invalid: it must be positive.");
        for (var i = 0; i < options.AllowedHosts.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.AllowedHosts[i]))
                failures.Add($"Sovereign:AllowedHosts:{i} = '{options.AllowedHosts[i]}' is invalid: a host name is required.");
        }

        for (var i = 0; i < options.Mirrors.Count; i++)
        {
            foreach (var mirror in (options.Mirrors[i] ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!MirrorSettings.TryParse(mirror, out _, out var problem))
                    failures.Add($"Sovereign:Mirrors = '{mirror}' is invalid: {problem}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Annotations(object section, string path, List<string> failures)
    {
        var results = new List<ValidationResult>();
        if (Validator.TryValidateObject(section, new ValidationContext(section), results, validateAllProperties: true)) return;
        foreach (var result in results)
        {
            foreach (var member in result.MemberNames.DefaultIfEmpty(""))
            {
                var value = section.GetType().GetProperty(member)?.GetValue(section);
                failures.Add($"{path}:{member} = {Display(member, value)} is invalid: {result.ErrorMessage}");
            }
        }
    }

    private static string Display(string member, object? value) => value switch
    {
        null => "(not set)",
        string s when member.Contains("Key", StringComparison.Ordinal) => $"(hidden, {s.Length} characters)",
        IFormattable f => $"'{f.ToString(null, CultureInfo.InvariantCulture)}'",
        _ => $"'{value}'",
    };
}
