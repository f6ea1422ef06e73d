"""Create, read, update and delete students through a SQLAlchemy Session."""

from sqlalchemy import select

from models import Session, Student


def create(session, name: str, email: str, grade: int) -> Student:
    student = Student(full_name=name, email=email, grade=grade)
    session.add(student)
    session.commit()
    return student


def read_all(session) -> list[Student]:
    return list(session.scalars(select(Student).order_by(Student.id)))


def update_grade(session, student: Student, grade: int) -> None:
    student.grade = grade
    session.commit()


def delete(session, student: Student) -> None:
    session.delete(student)
    session.commit()


if __name__ == "__main__":
    with Session() as session:
        ada = create(session, "Ada Lovelace", "ada@school.test", 4)
        alan = create(session, "Alan Turing", "alan@school.test", 4)
        grace = create(session, "Grace Hopper", "grace@school.test", 3)
        print("created:", read_all(session))
        update_grade(session, grace, 4)
        print("updated:", session.get(Student, grace.id))
        delete(session, alan)
        print("deleted Alan; students now:", read_all(session))
