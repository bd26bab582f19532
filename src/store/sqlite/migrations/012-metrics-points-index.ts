// Raw points are read and expired through their primary key (series_id, at), one series at a time;
// the secondary index on `at` nearly doubled their size. Never edit a shipped migration: add the next number.
export const sql = `
DROP INDEX IF EXISTS metric_points_at;
`;
