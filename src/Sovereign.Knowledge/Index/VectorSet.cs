using System.Numerics.Tensors;

namespace Sovereign.Knowledge.Index;

/// <summary>
/// The vectors of one knowledge base, held contiguously in memory so an exact search is one vectorised dot product
/// per chunk (<see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>) and a small heap for the
/// best k. Thread-safe: searches share a read lock; changes take the write lock.
/// </summary>
internal sealed class VectorSet
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private float[] _data = [];
    private long[] _keys = [];
    private string[] _documents = [];
    private int _count;

    /// <summary>0 until the first vector arrives.</summary>
    public int Dimensions { get; private set; }

    public int Count
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                return _count;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <summary>Bytes the vectors take (for logs and the benchmark).</summary>
    public long Bytes => (long)_data.Length * sizeof(float);

    public void Add(long key, string documentId, ReadOnlySpan<float> vector)
    {
        _lock.EnterWriteLock();
        try
        {
            AddLocked(key, documentId, vector);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public void AddRange(IEnumerable<(long Key, string DocumentId, float[] Vector)> rows)
    {
        _lock.EnterWriteLock();
        try
        {
            foreach (var (key, document, vector) in rows) AddLocked(key, document, vector);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes every vector of a document, keeping the rest contiguous. Returns how many went.</summary>
    public int RemoveDocument(string documentId)
    {
        _lock.EnterWriteLock();
        try
        {
            var d = Dimensions;
            var kept = 0;
            for (var i = 0; i < _count; i++)
            {
                if (_documents[i] == documentId) continue;
                if (kept != i)
                {
                    _keys[kept] = _keys[i];
                    _documents[kept] = _documents[i];
                    _data.AsSpan(i * d, d).CopyTo(_data.AsSpan(kept * d, d));
                }
                kept++;
            }
            var removed = _count - kept;
            Array.Clear(_documents, kept, removed);
            _count = kept;
            return removed;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>The <paramref name="limit"/> best chunks by dot product with <paramref name="query"/>, best first.</summary>
    public IReadOnlyList<ChunkMatch> Search(ReadOnlySpan<float> query, int limit, IReadOnlySet<string>? documentIds)
    {
        if (limit <= 0) return [];
        _lock.EnterReadLock();
        try
        {
            if (_count == 0) return [];
            if (query.Length != Dimensions) throw DimensionsMismatch(query.Length, Dimensions);

            // A min-heap of the best so far: its root is the weakest of them, replaced when something beats it.
            var best = new PriorityQueue<int, float>(limit + 1);
            var d = Dimensions;
            var data = _data;
            for (var i = 0; i < _count; i++)
            {
                if (documentIds is not null && !documentIds.Contains(_documents[i])) continue;
                var score = TensorPrimitives.Dot(query, data.AsSpan(i * d, d));
                if (best.Count < limit) best.Enqueue(i, score);
                else if (best.TryPeek(out _, out var weakest) && score > weakest) best.DequeueEnqueue(i, score);
            }

            var result = new ChunkMatch[best.Count];
            for (var n = result.Length - 1; n >= 0; n--)
            {
                best.TryDequeue(out var index, out var score);
                result[n] = new ChunkMatch(_keys[index], score);
            }
            return result;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>The error for a query embedded by another model than the base; pgvector's search reports it alike.</summary>
    public static Core.Errors.SovereignException DimensionsMismatch(int queryDimensions, int baseDimensions) =>
        new(Core.Errors.ErrorKind.Conflict,
            $"The query vector has {queryDimensions} dimensions but this knowledge base's vectors have {baseDimensions}; it was indexed with another embedding model.",
            code: "embedding_dimensions_mismatch");

    private void AddLocked(long key, string documentId, ReadOnlySpan<float> vector)
    {
        if (Dimensions == 0) Dimensions = vector.Length;
        else if (vector.Length != Dimensions)
            throw new InvalidOperationException($"A vector of {vector.Length} dimensions cannot join a set of {Dimensions}.");
        if (_count == _keys.Length)
        {
            var capacity = Math.Max(64, _keys.Length * 2);
            Array.Resize(ref _keys, capacity);
            Array.Resize(ref _documents, capacity);
            Array.Resize(ref _data, capacity * Dimensions);
        }
        _keys[_count] = key;
        _documents[_count] = documentId;
        vector.CopyTo(_data.AsSpan(_count * Dimensions, Dimensions));
        _count++;
    }
}
