namespace Sovereign.Knowledge.Extraction;

/// <summary>The formats extraction understands, each with the media type it reports.</summary>
internal enum DocumentFormat
{
    PlainText,
    Markdown,
    Html,
    Csv,
    Pdf,
    Docx,
    Png,
    Jpeg,
    Tiff,
}

internal static class MediaTypes
{
    public const string PlainText = "text/plain";
    public const string Markdown = "text/markdown";
    public const string Html = "text/html";
    public const string Csv = "text/csv";
    public const string Pdf = "application/pdf";
    public const string Docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    public const string Png = "image/png";
    public const string Jpeg = "image/jpeg";
    public const string Tiff = "image/tiff";

    public static string Of(DocumentFormat format) => format switch
    {
        DocumentFormat.PlainText => PlainText,
        DocumentFormat.Markdown => Markdown,
        DocumentFormat.Html => Html,
        DocumentFormat.Csv => Csv,
        DocumentFormat.Pdf => Pdf,
        DocumentFormat.Docx => Docx,
        DocumentFormat.Png => Png,
        DocumentFormat.Jpeg => Jpeg,
        DocumentFormat.Tiff => Tiff,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };
}
