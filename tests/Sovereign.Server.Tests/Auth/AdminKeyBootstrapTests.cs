using System.Net;
using System.Text.RegularExpressions;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Auth;

public sealed partial class AdminKeyBootstrapTests
{
    [Fact]
    public async Task First_start_generates_an_admin_key_shows_it_once_and_writes_an_owner_only_key_file()
    {
        var home = TestHost.NewHome();
        try
        {
            string key;
            await using (var first = await TestHost.StartAsync(home, adminKey: null))
            {
                var shown = Assert.Single(first.Console.Lines, l => l.StartsWith("Admin API key (shown once): ", StringComparison.Ordinal));
                key = shown["Admin API key (shown once): ".Length..];
                Assert.Matches(KeyPattern(), key);

                var file = first.Paths.AdminKeyFile;
                Assert.Equal(key + "\n", await File.ReadAllTextAsync(file));
                if (!OperatingSystem.IsWindows())
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));

                using var response = await first.Client(key).GetAsync("admin/keys");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            await using var second = await TestHost.StartAsync(home, adminKey: null);
            Assert.Empty(second.Console.Lines);
            Assert.Equal(key + "\n", await File.ReadAllTextAsync(second.Paths.AdminKeyFile));
            using var again = await second.Client(key).GetAsync("admin/keys");
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }
        finally
        {
            TestHost.TryDelete(home);
        }
    }

    [Fact]
    public async Task A_configured_admin_key_is_used_and_nothing_is_generated_or_written()
    {
        await using var host = await TestHost.StartAsync(adminKey: TestHost.ConfiguredAdminKey);

        // The first owner's web password is a separate secret (see OwnerBootstrapTests); nothing about keys is shown.
        Assert.DoesNotContain(host.Console.Lines, l => l.Contains("key", StringComparison.OrdinalIgnoreCase));
        Assert.False(File.Exists(host.Paths.AdminKeyFile));
        var (status, body) = await host.AdminClient().GetJsonAsync("admin/keys");
        Assert.Equal(HttpStatusCode.OK, status);
        var only = Assert.Single(body["data"]!.AsArray());
        Assert.Equal("admin", only!["scope"]!.GetValue<string>());
        Assert.Equal(TestHost.ConfiguredAdminKey[..8], only["prefix"]!.GetValue<string>()); // a quarter at most of a key not made here
    }

    [Fact]
    public async Task The_database_holds_only_hashes_of_keys()
    {
        await using var host = await TestHost.StartAsync();
        var (_, created) = await host.CreateKeyAsync("app");

        var bytes = string.Concat(Directory.GetFiles(host.Home, "sovereign.db*").Select(f =>
            System.Text.Encoding.Latin1.GetString(ReadShared(f))));
        Assert.DoesNotContain(created, bytes, StringComparison.Ordinal);
        Assert.DoesNotContain(TestHost.ConfiguredAdminKey, bytes, StringComparison.Ordinal);
    }

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    [GeneratedRegex("^sov-[0-9A-Za-z]{43}$")]
    private static partial Regex KeyPattern();
}
