using System.Globalization;
using Sovereign.Web.Formatting;

namespace Sovereign.Web.Tests.Formatting;

public sealed class CultureFormatTests
{
    private static readonly CultureInfo Persian = CultureInfo.GetCultureInfo("fa");
    private static readonly CultureInfo English = CultureInfo.GetCultureInfo("en");

    [Fact]
    public void Persian_numbers_use_Persian_digits()
    {
        var text = CultureFormat.Number(1234567, Persian);
        Assert.Matches("^[۰-۹٬,]+$", text);
        Assert.StartsWith("۱", text, StringComparison.Ordinal);
    }

    [Fact]
    public void English_numbers_keep_ASCII_digits_and_group_separators()
    {
        Assert.Equal("1,234,567", CultureFormat.Number(1234567, English));
    }

    [Fact]
    public void Sizes_are_in_binary_units_with_one_decimal()
    {
        Assert.Equal("1.5 MiB", CultureFormat.Bytes(1536 * 1024, English));
        Assert.Equal("512 B", CultureFormat.Bytes(512, English));
    }

    [Fact]
    public void A_missing_time_is_a_dash()
    {
        Assert.Equal("—", CultureFormat.DateTime(null, English));
    }

    [Fact]
    public void Persian_dates_use_Persian_digits()
    {
        Assert.Matches("[۰-۹]", CultureFormat.DateTime(new DateTimeOffset(2026, 3, 21, 12, 0, 0, TimeSpan.Zero), Persian));
        Assert.DoesNotMatch("[0-9]", CultureFormat.DateTime(new DateTimeOffset(2026, 3, 21, 12, 0, 0, TimeSpan.Zero), Persian));
    }

    [Theory]
    [InlineData("Hello", "ltr")]
    [InlineData("سلام", "rtl")]
    [InlineData("  123 — مرحبا", "rtl")]
    [InlineData("«שלום»", "rtl")]
    [InlineData("123 !?", "auto")]
    public void Direction_follows_the_first_strong_letter(string text, string dir)
    {
        Assert.Equal(dir, TextDirection.Of(text));
    }
}
