namespace DaprLlm.Audit.Trail;

/// <summary>What <see cref="ChainVerifier"/> found in one region's trail.</summary>
public sealed record VerifyReport(
    string Region,
    bool Ok,
    long RecordsChecked,
    int CheckpointsChecked,
    int SegmentsChecked,
    long FirstSeq,
    long LastSeq,
    long UnsignedTail,
    ChainProblem? FirstProblem);

/// <summary>The first thing wrong in a trail: the record (by seq) and what happened to it.</summary>
public sealed record ChainProblem(long Seq, string Kind, string Detail)
{
    public const string Altered = "altered";
    public const string Removed = "removed";
    public const string Inserted = "inserted";
    public const string BadCheckpoint = "bad_checkpoint";
    public const string BadSegment = "bad_segment";
}
