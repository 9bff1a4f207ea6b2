using Sovereign.Core.Errors;

namespace Sovereign.Knowledge.Extraction;

/// <summary>Runs work under <see cref="ExtractionLimits.MaxTime"/>; running past it is a clear 413, not a hang.</summary>
internal static class ExtractionDeadline
{
    public static async Task<T> RunAsync<T>(ExtractionLimits limits, Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limits.MaxTime);
        try
        {
            return await work(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new SovereignException(
                ErrorKind.PayloadTooLarge,
                $"Extraction took longer than the limit of {limits.MaxTime.TotalSeconds:0.###} seconds and was stopped.",
                "file",
                "extraction_timeout");
        }
    }
}
