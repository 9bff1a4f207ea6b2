using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using Sovereign.Core.Errors;

namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// Runs a helper program (tesseract, pdftoppm) with arguments passed as a list (never through a shell), reads its
/// output bounded, and kills it with its children when the deadline or the caller cancels: a stuck OCR must not
/// outlive the extraction that started it.
/// </summary>
internal static class ExternalProcess
{
    private const int MaxOutputChars = 16 * 1024 * 1024;

    public sealed record Result(int ExitCode, string Output, string Error);

    public static async Task<Result> RunAsync(string program, IEnumerable<string> arguments, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new SovereignException(
                ErrorKind.Unavailable,
                $"Extraction needs the program '{program}', which is not installed on this server (Debian: tesseract-ocr, poppler-utils).",
                code: "extraction_tool_missing",
                inner: e);
        }

        process.StandardInput.Close();
        try
        {
            var output = ReadBoundedAsync(process.StandardOutput, cancellationToken);
            var error = ReadBoundedAsync(process.StandardError, cancellationToken);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            return new Result(process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            throw;
        }
        catch
        {
            Kill(process);
            throw;
        }
    }

    private static async Task<string> ReadBoundedAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var buffer = new char[8192];
        int read;
        while ((read = await reader.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (text.Length + read > MaxOutputChars)
            {
                throw new SovereignException(ErrorKind.PayloadTooLarge, "A helper program produced more text than extraction accepts.", "file", "extraction_output_too_large");
            }

            text.Append(buffer, 0, read);
        }

        return text.ToString();
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill: nothing left to stop.
        }
    }
}
