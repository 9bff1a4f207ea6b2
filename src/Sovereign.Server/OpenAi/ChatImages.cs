using System.Text;
using System.Text.Json;
using Sovereign.Core.Errors;
using Sovereign.Agents.ToolCalling;
using Sovereign.Core.Generation;
using Sovereign.Knowledge.Extraction;

namespace Sovereign.Server.OpenAi;

/// <summary>
/// Images in chat (OpenAI content parts of type <c>image_url</c>). Only <c>data:</c> URLs are accepted: the platform
/// never fetches from outside, so a remote URL is a 400. A model imported with a vision projector gets the images
/// themselves (<see cref="AttachTo"/>: llama.cpp's multimodal library encodes them); any other model gets each image's
/// text, read through OCR, in a framed block where the image sat (<see cref="ReplaceWithTextAsync(List{ChatTurn}, ImageTextReader, CancellationToken)"/>).
/// One per request; not thread-safe.
/// </summary>
/// <remarks>
/// Validation happens with the rest of the request (<see cref="Add"/> puts a placeholder in the message text); the
/// OCR runs only once the whole request is valid (<see cref="ReplaceWithTextAsync"/>). The placeholder carries a
/// per-request nonce, so text a user types can never be mistaken for one.
/// </remarks>
internal sealed class ChatImages
{
    public const int MaxImagesPerRequest = 8;

    /// <summary>Chat is interactive: a minute of OCR at most, and images no larger than a large photo.</summary>
    private static readonly ExtractionLimits Limits = new() { MaxBytes = 20L * 1024 * 1024, MaxTime = TimeSpan.FromSeconds(60) };

    private readonly List<(byte[] Bytes, string Param)> _images = [];
    private readonly string _nonce = Guid.NewGuid().ToString("N");

    /// <summary>Checks one <c>image_url</c> part; returns its placeholder, or null after recording the problem.</summary>
    public string? Add(JsonElement part, string partParam, RequestProblems problems)
    {
        var urlParam = $"{partParam}.image_url.url";
        string? url = null;
        if (part.TryGetProperty("image_url", out var imageUrl))
        {
            if (imageUrl.ValueKind == JsonValueKind.String) url = imageUrl.GetString();
            else if (imageUrl.ValueKind == JsonValueKind.Object && imageUrl.TryGetProperty("url", out var u) && u.ValueKind == JsonValueKind.String) url = u.GetString();
        }
        if (string.IsNullOrEmpty(url))
        {
            problems.Missing(urlParam);
            return null;
        }
        if (!url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add(urlParam, $"Invalid '{urlParam}': this server never fetches from outside, so image URLs must be data: URLs (data:image/png;base64,...).", "remote_image_url");
            return null;
        }
        var comma = url.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0 || !url[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase) || comma == url.Length - 1)
        {
            problems.Add(urlParam, $"Invalid '{urlParam}': expected a base64 data URL with the image in it (data:image/png;base64,...).", "invalid_image_url");
            return null;
        }
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(url[(comma + 1)..]);
        }
        catch (FormatException)
        {
            problems.Add(urlParam, $"Invalid '{urlParam}': the data URL's base64 is malformed.", "invalid_image_url");
            return null;
        }
        return Keep(bytes, urlParam, partParam, problems);
    }

    /// <summary>
    /// Checks one of Ollama's <c>images</c> (a base64 string, no data: prefix; one with it is taken too); returns its
    /// placeholder, or null after recording the problem.
    /// </summary>
    public string? AddBase64(JsonElement image, string param, RequestProblems problems)
    {
        if (image.ValueKind != JsonValueKind.String || image.GetString() is not { Length: > 0 } text)
        {
            problems.Add(param, $"{param} must be a base64 string with the image in it.", "invalid_type");
            return null;
        }
        if (text.StartsWith("data:", StringComparison.OrdinalIgnoreCase) && text.IndexOf(',', StringComparison.Ordinal) is > 0 and var comma)
            text = text[(comma + 1)..];
        else if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add(param, $"Invalid '{param}': this server never fetches from outside, so an image must be sent as base64, not a URL.", "remote_image_url");
            return null;
        }
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            problems.Add(param, $"Invalid '{param}': the base64 is malformed.", "invalid_image");
            return null;
        }
        return Keep(bytes, param, param, problems);
    }

    /// <summary>Images accepted so far.</summary>
    public int Count => _images.Count;

    private string? Keep(byte[] bytes, string param, string countParam, RequestProblems problems)
    {
        if (_images.Count >= MaxImagesPerRequest)
        {
            problems.Add(countParam, $"Too many images: at most {MaxImagesPerRequest} per request.", "too_many_images");
            return null;
        }
        _images.Add((bytes, param));
        return Placeholder(_images.Count);
    }

    /// <summary>Reads each image and puts its text, framed, where the image sat.</summary>
    public async Task<List<ChatTurn>> ReplaceWithTextAsync(List<ChatTurn> turns, ImageTextReader reader, CancellationToken cancellationToken)
    {
        if (_images.Count == 0) return turns;
        var blocks = await ReadAllAsync(reader, cancellationToken);
        return [.. turns.Select(t => t.Content is { } c && c.Contains(_nonce, StringComparison.Ordinal) ? t with { Content = Substitute(c, blocks) } : t)];
    }

    public async Task<List<ChatMessage>> ReplaceWithTextAsync(List<ChatMessage> messages, ImageTextReader reader, CancellationToken cancellationToken)
    {
        if (_images.Count == 0) return messages;
        var blocks = await ReadAllAsync(reader, cancellationToken);
        return [.. messages.Select(m => m.Content.Contains(_nonce, StringComparison.Ordinal) ? m with { Content = Substitute(m.Content, blocks) } : m)];
    }

    /// <summary>
    /// For a model with a vision projector: each placeholder becomes <see cref="ChatMessage.ImagePlaceholder"/> and its
    /// image joins the message's <see cref="ChatMessage.Images"/>, in order. The placeholder character is taken out of
    /// every text first, so text a user types can never stand for an image.
    /// </summary>
    public List<ChatMessage> AttachTo(List<ChatMessage> messages)
    {
        if (_images.Count == 0) return messages;
        foreach (var (bytes, param) in _images)
        {
            try
            {
                ImageTextReader.Check(bytes, Limits, allowTiff: false);
            }
            catch (SovereignException e) when (e.Param is "image" or "file")
            {
                throw new SovereignException(e.Kind, $"'{param}': {e.Message}", param, e.Code, e);
            }
        }
        var placeholder = ChatMessage.ImagePlaceholder.ToString();
        var attached = new List<ChatMessage>(messages.Count);
        foreach (var m in messages)
        {
            if (!m.Content.Contains(_nonce, StringComparison.Ordinal))
            {
                attached.Add(m);
                continue;
            }
            var content = m.Content.Replace(placeholder, "", StringComparison.Ordinal);
            var found = new List<(int At, int Image)>();
            for (var i = 0; i < _images.Count; i++)
            {
                var at = content.IndexOf(Placeholder(i + 1), StringComparison.Ordinal);
                if (at >= 0) found.Add((at, i));
            }
            found.Sort();
            foreach (var (_, image) in found) content = content.Replace(Placeholder(image + 1), placeholder, StringComparison.Ordinal);
            attached.Add(m with { Content = content, Images = [.. found.Select(f => (ReadOnlyMemory<byte>)_images[f.Image].Bytes)] });
        }
        return attached;
    }

    private async Task<string[]> ReadAllAsync(ImageTextReader reader, CancellationToken cancellationToken)
    {
        var blocks = new string[_images.Count];
        for (var i = 0; i < _images.Count; i++)
        {
            var (bytes, param) = _images[i];
            string text;
            try
            {
                text = await reader.ReadAsync(bytes, Limits, cancellationToken);
            }
            catch (SovereignException e) when (e.Param is "image" or "file")
            {
                // The same error, pointed at the request field that carried the image.
                throw new SovereignException(e.Kind, $"'{param}': {e.Message}", param, e.Code, e);
            }
            var n = i + 1;
            blocks[i] = text.Length == 0
                ? $"[Image {n}: no text could be read from the image]"
                : new StringBuilder().Append($"[Image {n}: text read from the image by OCR]\n").Append(text).Append($"\n[End of image {n}]").ToString();
        }
        return blocks;
    }

    private string Substitute(string content, string[] blocks)
    {
        for (var i = 0; i < blocks.Length; i++) content = content.Replace(Placeholder(i + 1), blocks[i], StringComparison.Ordinal);
        return content;
    }

    private string Placeholder(int n) => $"\u0001image-{_nonce}-{n}\u0001";
}
