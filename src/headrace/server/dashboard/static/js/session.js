// Who is logged in (GET /api/v1/current-user), shared by the pages.

export const session = { principal: null, next: null };

export function canWrite() {
  return !!session.principal && session.principal.role !== "viewer";
}

export function isAdmin() {
  return !!session.principal && session.principal.role === "admin";
}
