using System.Text.RegularExpressions;

namespace Sovereign.Apps.Guardrails;

/// <summary>
/// Masks personal data in text before it is written to logs: e-mail addresses, payment card numbers (Luhn-checked),
/// IBANs, national ids (Iran's 10-digit code with its check digit, US social security numbers) and phone numbers.
/// Persian and Arabic digits count as digits. Masking is for logs: it errs towards masking any long digit run.
/// Thread-safe (compiled regular expressions only).
/// </summary>
public static partial class PersonalDataMasker
{
    public const string Email = "[email]";
    public const string Card = "[card-number]";
    public const string Iban = "[iban]";
    public const string NationalId = "[national-id]";
    public const string Phone = "[phone]";

    public static string Mask(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) return text;
        text = EmailPattern().Replace(text, Email);
        text = IbanPattern().Replace(text, Iban);
        text = SsnPattern().Replace(text, NationalId);
        // Long digit runs: a valid card number, an Iranian national code, else (8+ digits) a phone number.
        return DigitRunPattern().Replace(text, m =>
        {
            var digits = Digits(m.Value);
            if (digits.Length is >= 13 and <= 19 && Luhn(digits)) return Card;
            if (digits.Length == 10 && IranianNationalCode(digits)) return NationalId;
            return digits.Length >= 8 ? Phone : m.Value;
        });
    }

    private static int[] Digits(string s) => [.. s.Where(char.IsDigit).Select(c => (int)char.GetNumericValue(c))];

    private static bool Luhn(int[] digits)
    {
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var d = digits[digits.Length - 1 - i];
            if (i % 2 == 1)
            {
                d *= 2;
                if (d > 9) d -= 9;
            }
            sum += d;
        }
        return sum % 10 == 0;
    }

    private static bool IranianNationalCode(int[] d)
    {
        if (d.All(x => x == d[0])) return false;
        var sum = 0;
        for (var i = 0; i < 9; i++) sum += d[i] * (10 - i);
        var r = sum % 11;
        return r < 2 ? d[9] == r : d[9] == 11 - r;
    }

    [GeneratedRegex(@"[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)*\.\p{L}{2,}", RegexOptions.CultureInvariant)]
    private static partial Regex EmailPattern();

    [GeneratedRegex(@"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", RegexOptions.CultureInvariant)]
    private static partial Regex IbanPattern();

    [GeneratedRegex(@"\b\d{3}-\d{2}-\d{4}\b", RegexOptions.CultureInvariant)]
    private static partial Regex SsnPattern();

    // A digit, then digits and separators (space, '-', '.', parentheses), ending in a digit; an optional leading '+'.
    [GeneratedRegex(@"\+?\(?\d(?:[\d \-.()]{5,}\d)", RegexOptions.CultureInvariant)]
    private static partial Regex DigitRunPattern();
}
