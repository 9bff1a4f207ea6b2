using Sovereign.Server.Auth;

namespace Sovereign.Server.Tests.Auth;

public sealed class ApiKeyFormatTests
{
    [Fact]
    public void New_keys_are_sov_and_43_base62_characters_and_differ()
    {
        var keys = Enumerable.Range(0, 100).Select(_ => ApiKeyFormat.NewKey()).ToArray();

        Assert.All(keys, k => Assert.Matches("^sov-[0-9A-Za-z]{43}$", k));
        Assert.All(keys, k => Assert.True(ApiKeyFormat.IsGenerated(k)));
        Assert.Equal(keys.Length, keys.Distinct().Count());
    }

    [Fact]
    public void The_hash_is_lowercase_hex_sha256_of_the_key()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeyFormat.Hash("abc"));
    }

    [Fact]
    public void The_display_prefix_keeps_12_characters_of_a_generated_key_but_little_of_a_configured_one()
    {
        var generated = ApiKeyFormat.NewKey();

        Assert.Equal(generated[..12], ApiKeyFormat.DisplayPrefix(generated));
        Assert.Equal("abcd", ApiKeyFormat.DisplayPrefix("abcdefghijklmnop"));
        Assert.Equal("sov-conf", ApiKeyFormat.DisplayPrefix("sov-configured-admin-key-0123456789"));
    }
}
