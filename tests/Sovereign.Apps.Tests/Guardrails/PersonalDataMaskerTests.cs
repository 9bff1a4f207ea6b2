using Sovereign.Apps.Guardrails;

namespace Sovereign.Apps.Tests.Guardrails;

public sealed class PersonalDataMaskerTests
{
    [Theory]
    [InlineData("write to sara.ahmadi@example.ir please", "write to [email] please")]
    [InlineData("call me on +98 912 345 6789 tomorrow", "call me on [phone] tomorrow")]
    [InlineData("my number is 0912-345-6789", "my number is [phone]")]
    [InlineData("card 4111 1111 1111 1111 was charged", "card [card-number] was charged")]
    [InlineData("SSN 123-45-6789", "SSN [national-id]")]
    [InlineData("کد ملی من ۰۰۱۲۳۴۵۶۷۹ است", "کد ملی من [national-id] است")]
    [InlineData("national code 0499370899", "national code [national-id]")]
    [InlineData("IBAN IR062960000000100324200001", "IBAN [iban]")]
    public void Personal_data_is_masked(string input, string expected) => Assert.Equal(expected, PersonalDataMasker.Mask(input));

    [Theory]
    [InlineData("How do I return an item bought in 2024?")]
    [InlineData("Fault code E-217 on line 3")]
    [InlineData("Apply 120 kg per hectare")]
    public void Ordinary_text_is_left_alone(string input) => Assert.Equal(input, PersonalDataMasker.Mask(input));
}
