namespace Sovereign.Knowledge.Tests.Extraction;

/// <summary>Tests that measure the whole process (allocations, child processes) run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialMeasurements
{
    public const string Name = "Serial measurements";
}
