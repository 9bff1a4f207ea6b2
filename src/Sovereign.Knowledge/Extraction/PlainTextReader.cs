namespace Sovereign.Knowledge.Extraction;

/// <summary>Plain text: paragraphs are separated by blank lines; line breaks inside a paragraph are kept.</summary>
internal static class PlainTextReader
{
    public static List<TextBlock> Read(string text)
    {
        var blocks = new List<TextBlock>();
        var paragraph = new List<string>();
        foreach (var line in text.Split('\n'))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                Flush();
                continue;
            }

            paragraph.Add(line.TrimEnd());
        }

        Flush();
        return blocks;

        void Flush()
        {
            if (paragraph.Count > 0)
            {
                blocks.Add(new TextBlock(BlockKind.Paragraph, string.Join('\n', paragraph).Trim()));
                paragraph.Clear();
            }
        }
    }
}
