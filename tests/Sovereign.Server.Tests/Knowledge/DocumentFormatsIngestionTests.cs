using Sovereign.Server.Tests.Infrastructure;
using Sovereign.TestSupport;

namespace Sovereign.Server.Tests.Knowledge;

/// <summary>Real PDFs (with and without a text layer), DOCX and a scanned image, ingested over HTTP and found by search.</summary>
public sealed class DocumentFormatsIngestionTests
{
    [Fact]
    public async Task Pdf_docx_and_scanned_image_uploads_are_ingested_and_found_with_their_pages()
    {
        await using var host = await TestHost.StartAsync();
        var client = host.AdminClient();
        await client.CreateBaseAsync("formats");

        var docs = await client.IngestAsync("formats",
            ("manual.pdf", TestDocuments.PdfWithTextLayer("The boiler room is on the ground floor.", "Boiler pressure must stay below three bar."), "application/pdf"),
            ("scanned.pdf", TestDocuments.PdfWithoutTextLayer("Quarantine ward visitors wear masks"), "application/pdf"),
            ("contract.docx", TestDocuments.Docx("Supply contract", [("Delivery", ["Oxygen cylinders are delivered every Thursday morning."])]),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            ("notice.png", TestDocuments.PngOfText("Canteen closed on Friday"), "image/png"));

        Assert.All(docs, d => Assert.True(d["status"]!.GetValue<string>() == "ready", d.ToJsonString()));
        Assert.Equal(2, docs[0]["pages"]!.GetValue<int>());
        Assert.True(docs[1]["ocr_pages"]!.GetValue<int>() >= 1);

        var pressure = (await client.SearchAsync("formats", "boiler pressure limit", "fulltext", 1))[0]!;
        Assert.Equal("manual.pdf", pressure["document_name"]!.GetValue<string>());
        Assert.Equal(2, pressure["page"]!.GetValue<int>());
        Assert.Equal("scanned.pdf", (await client.SearchAsync("formats", "quarantine masks", "fulltext", 1))[0]!["document_name"]!.GetValue<string>());
        Assert.Equal("contract.docx", (await client.SearchAsync("formats", "When are oxygen cylinders delivered?", "hybrid", 1))[0]!["document_name"]!.GetValue<string>());
        Assert.Equal("notice.png", (await client.SearchAsync("formats", "canteen", "fulltext", 1))[0]!["document_name"]!.GetValue<string>());
    }
}
