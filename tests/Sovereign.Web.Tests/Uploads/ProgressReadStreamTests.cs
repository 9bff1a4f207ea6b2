using Sovereign.Web.Uploads;

namespace Sovereign.Web.Tests.Uploads;

public sealed class ProgressReadStreamTests
{
    [Fact]
    public async Task Reports_rising_byte_counts_once_per_whole_percent_ending_with_the_whole_file_and_passes_the_bytes_through()
    {
        var data = new byte[10_000];
        new Random(7).NextBytes(data);
        var reports = new List<long>();
        await using var stream = new ProgressReadStream(new MemoryStream(data), data.Length, reports.Add);
        using var copy = new MemoryStream();
        var buffer = new byte[37];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0) copy.Write(buffer, 0, read);

        Assert.Equal(data, copy.ToArray());
        Assert.Equal(data.Length, reports[^1]);
        Assert.Equal(reports.Order(), reports);
        // 271 reads of 37 bytes, but a report only when the percentage moves: 100 of them, and the end.
        Assert.InRange(reports.Count, 100, 102);
        Assert.Contains(reports, r => r > 0 && r < data.Length);
    }

    [Fact]
    public void An_empty_file_reports_done_once_at_its_end()
    {
        var reports = new List<long>();
        using var stream = new ProgressReadStream(new MemoryStream(), 0, reports.Add);
        Assert.Equal(0, stream.Read(new byte[8], 0, 8));
        Assert.Equal([0L], reports);
    }
}
